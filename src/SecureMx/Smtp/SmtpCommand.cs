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
    public static SmtpCommand Parse(string line)
    {
        int sp = line.IndexOf(' ');
        var verbText = sp < 0 ? line : line.Substring(0, sp);
        var arg = sp < 0 ? "" : line.Substring(sp + 1);
        var verb = verbText.ToUpperInvariant() switch
        {
            "EHLO" => SmtpVerb.Ehlo,
            "HELO" => SmtpVerb.Helo,
            "MAIL" => SmtpVerb.Mail,
            "RCPT" => SmtpVerb.Rcpt,
            "DATA" => SmtpVerb.Data,
            "BDAT" => SmtpVerb.Bdat,
            "RSET" => SmtpVerb.Rset,
            "NOOP" => SmtpVerb.Noop,
            "QUIT" => SmtpVerb.Quit,
            "VRFY" => SmtpVerb.Vrfy,
            "EXPN" => SmtpVerb.Expn,
            "HELP" => SmtpVerb.Help,
            "STARTTLS" => SmtpVerb.StartTls,
            "AUTH" => SmtpVerb.Auth,
            // Postfix's smtpd_forbidden_commands: a browser or proxy talking to port 25.
            "GET" or "POST" or "HEAD" or "PUT" or "CONNECT" or "OPTIONS" => SmtpVerb.Forbidden,
            _ => SmtpVerb.Unknown,
        };
        return new SmtpCommand(verb, arg, verbText);
    }
}
