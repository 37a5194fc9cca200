namespace SecureMx.Client;

/// <summary>A reply received from a remote SMTP server, with its enhanced code when it sent one (RFC 3463).</summary>
public sealed record SmtpClientReply(int Code, string? Enhanced, IReadOnlyList<string> Lines)
{
    public bool IsPositive => Code is >= 200 and < 400;
    public bool IsTransient => Code is >= 400 and < 500;
    public bool IsPermanent => Code >= 500;

    /// <summary>The reply as one line, for logs and DSN Diagnostic-Code fields ("550 5.1.1 user unknown").</summary>
    public override string ToString() => $"{Code} {string.Join(" ", Lines)}".TrimEnd();

    /// <summary>Parses the text after the code of the first line for "X.Y.Z " (RFC 3463 §2).</summary>
    public static string? FindEnhanced(string text)
    {
        var sp = text.IndexOf(' ');
        var token = sp < 0 ? text : text[..sp];
        var parts = token.Split('.');
        return parts.Length == 3 && parts[0] is "2" or "4" or "5" && parts.Skip(1).All(p => p.Length is >= 1 and <= 3 && p.All(char.IsAsciiDigit))
            ? token : null;
    }

    /// <summary>A reply we make up ourselves when the connection failed before the server said anything useful.</summary>
    public static SmtpClientReply Local(int code, string enhanced, string text) => new(code, enhanced, [enhanced + " " + text]);
}
