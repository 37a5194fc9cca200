using SecureMx.Mail;

namespace SecureMx.Client;

/// <summary>A reply received from a remote SMTP server, with its enhanced code when it sent one (RFC 3463).</summary>
public sealed record SmtpClientReply(int Code, EnhancedStatus? Enhanced, IReadOnlyList<string> Lines)
{
    public bool IsPositive => Code is >= 200 and < 400;
    public bool IsTransient => Code is >= 400 and < 500;
    public bool IsPermanent => Code >= 500;

    /// <summary>The reply as one line, for logs and DSN Diagnostic-Code fields ("550 5.1.1 user unknown").</summary>
    public override string ToString() => $"{Code} {string.Join(" ", Lines)}".TrimEnd();

    /// <summary>
    /// Parses the text after the code of the first line for "X.Y.Z " (RFC 3463 §2). A code that does not
    /// parse is no code: the reply then has none, and its class default applies where one is needed.
    /// </summary>
    public static EnhancedStatus? FindEnhanced(string text)
    {
        var sp = text.IndexOf(' ');
        return EnhancedStatus.TryParse(sp < 0 ? text : text.AsSpan(0, sp), out var status) ? status : null;
    }

    /// <summary>The enhanced code the server sent, else the generic one of the reply's class (2.0.0, 4.0.0, 5.0.0).</summary>
    public EnhancedStatus Status => Enhanced ?? EnhancedStatus.Generic(Code);

    /// <summary>A reply we make up ourselves when the connection failed before the server said anything useful.</summary>
    public static SmtpClientReply Local(int code, EnhancedStatus enhanced, string text) => new(code, enhanced, [$"{enhanced} {text}"]);
}
