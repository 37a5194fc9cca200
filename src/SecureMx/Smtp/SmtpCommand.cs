using System.Text;

namespace SecureMx.Smtp;

public enum SmtpVerb
{
    Unknown, Ehlo, Helo, Mail, Rcpt, Data, Bdat, Rset, Noop, Quit, Vrfy, Expn, Help, StartTls, Auth,
    /// <summary>An HTTP or proxy verb on the SMTP port: a cross-protocol attack, the connection is dropped.</summary>
    Forbidden,
}

/// <summary>One command line split into verb and argument (RFC 5321 §4.1.1).</summary>
public readonly record struct SmtpCommand(SmtpVerb Verb, string Argument, string VerbText)
{
    public static SmtpCommand Parse(string line) => Parse(Encoding.UTF8.GetBytes(line));

    /// <summary>
    /// Parses a command line (valid UTF-8, without its CRLF) from its bytes: the verb is matched in place (verbs are
    /// ASCII, case-insensitive: RFC 5321 §2.4), so only an argument becomes a string, and a known verb's text is a constant.
    /// </summary>
    public static SmtpCommand Parse(ReadOnlySpan<byte> line)
    {
        int sp = line.IndexOf((byte)' ');
        var verbBytes = sp < 0 ? line : line[..sp];
        var verb = VerbOf(verbBytes);
        var arg = sp < 0 || sp == line.Length - 1 ? "" : Encoding.UTF8.GetString(line[(sp + 1)..]);
        var verbText = verb is SmtpVerb.Unknown or SmtpVerb.Forbidden ? Encoding.UTF8.GetString(verbBytes) : VerbTexts[(int)verb];
        return new SmtpCommand(verb, arg, verbText);
    }

    private static readonly string[] VerbTexts =
        ["", "EHLO", "HELO", "MAIL", "RCPT", "DATA", "BDAT", "RSET", "NOOP", "QUIT", "VRFY", "EXPN", "HELP", "STARTTLS", "AUTH", ""];

    private static SmtpVerb VerbOf(ReadOnlySpan<byte> v)
    {
        static bool Is(ReadOnlySpan<byte> v, ReadOnlySpan<byte> name) => Ascii.EqualsIgnoreCase(v, name);
        return v.Length switch
        {
            4 when Is(v, "EHLO"u8) => SmtpVerb.Ehlo,
            4 when Is(v, "HELO"u8) => SmtpVerb.Helo,
            4 when Is(v, "MAIL"u8) => SmtpVerb.Mail,
            4 when Is(v, "RCPT"u8) => SmtpVerb.Rcpt,
            4 when Is(v, "DATA"u8) => SmtpVerb.Data,
            4 when Is(v, "BDAT"u8) => SmtpVerb.Bdat,
            4 when Is(v, "RSET"u8) => SmtpVerb.Rset,
            4 when Is(v, "NOOP"u8) => SmtpVerb.Noop,
            4 when Is(v, "QUIT"u8) => SmtpVerb.Quit,
            4 when Is(v, "VRFY"u8) => SmtpVerb.Vrfy,
            4 when Is(v, "EXPN"u8) => SmtpVerb.Expn,
            4 when Is(v, "HELP"u8) => SmtpVerb.Help,
            8 when Is(v, "STARTTLS"u8) => SmtpVerb.StartTls,
            4 when Is(v, "AUTH"u8) => SmtpVerb.Auth,
            // Postfix's smtpd_forbidden_commands: a browser or proxy talking to port 25.
            3 when Is(v, "GET"u8) || Is(v, "PUT"u8) => SmtpVerb.Forbidden,
            4 when Is(v, "POST"u8) || Is(v, "HEAD"u8) => SmtpVerb.Forbidden,
            7 when Is(v, "CONNECT"u8) || Is(v, "OPTIONS"u8) => SmtpVerb.Forbidden,
            _ => SmtpVerb.Unknown,
        };
    }
}
