using SecureMx.Mail;

namespace SecureMx.Smtp;

/// <summary>
/// Splits "KEY=VALUE KEY" parameter lists and validates them. Every malformed, unknown or repeated
/// keyword gets its own precise reply rather than being dropped silently.
/// </summary>
public static class ParameterParser
{
    public static readonly SmtpReply UnknownParameter = new(555, EnhancedStatus.InvalidArguments, "Error: unsupported MAIL/RCPT parameter");

    private static IEnumerable<(string Key, string? Value)> Split(string text)
    {
        foreach (var token in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = token.IndexOf('=');
            yield return eq < 0 ? (token.ToUpperInvariant(), null) : (token.Substring(0, eq).ToUpperInvariant(), token.Substring(eq + 1));
        }
    }

    public static SmtpReply? ParseMail(string text, long maxSize, out MailParameters parameters)
    {
        long? size = null; var body = BodyType.SevenBit; bool utf8 = false; var ret = DsnReturn.Unspecified; string? envid = null; bool requireTls = false;
        parameters = new MailParameters(null, body, false, ret, null);
        var seen = new HashSet<string>();
        foreach (var (key, value) in Split(text))
        {
            if (!seen.Add(key)) return new SmtpReply(501, EnhancedStatus.InvalidArguments, $"Error: duplicate {key} parameter");
            switch (key)
            {
                case "SIZE":
                    if (value is null || value.Length > 20 || !value.All(char.IsAsciiDigit) || !long.TryParse(value, out var n))
                        return new SmtpReply(501, EnhancedStatus.InvalidArguments, "Error: bad SIZE parameter syntax");
                    if (maxSize > 0 && n > maxSize) return SmtpReply.MessageTooBig;
                    size = n;
                    break;
                case "BODY":
                    switch (value?.ToUpperInvariant())
                    {
                        case "7BIT": body = BodyType.SevenBit; break;
                        case "8BITMIME": body = BodyType.EightBitMime; break;
                        // BINARYMIME (RFC 3030 §3) is not advertised, so it is not accepted either.
                        default: return new SmtpReply(501, EnhancedStatus.InvalidArguments, "Error: bad BODY parameter, use 7BIT or 8BITMIME");
                    }
                    break;
                case "SMTPUTF8":
                    if (value is not null) return new SmtpReply(501, EnhancedStatus.InvalidArguments, "Error: SMTPUTF8 takes no value");
                    utf8 = true;
                    break;
                case "RET":
                    switch (value?.ToUpperInvariant())
                    {
                        case "FULL": ret = DsnReturn.Full; break;
                        case "HDRS": ret = DsnReturn.Headers; break;
                        default: return new SmtpReply(501, EnhancedStatus.InvalidArguments, "Error: bad RET parameter, use FULL or HDRS");
                    }
                    break;
                case "ENVID":
                    envid = value is null ? null : Xtext.Decode(value);
                    // RFC 3461 §4.4: at most 100 characters, printable US-ASCII.
                    if (envid is null || envid.Length == 0 || envid.Length > 100 || envid.Any(c => c < 32 || c > 126))
                        return new SmtpReply(501, EnhancedStatus.InvalidArguments, "Error: bad ENVID parameter");
                    break;
                case "REQUIRETLS":
                    // RFC 8689 §2: a keyword without a value. Whether the session may use it (TLS) is the session's check.
                    if (value is not null) return new SmtpReply(501, EnhancedStatus.InvalidArguments, "Error: REQUIRETLS takes no value");
                    requireTls = true;
                    break;
                case "AUTH":
                    // RFC 4954 §5: the identity that submitted the message originally. Checked for
                    // syntax and otherwise ignored: we never pass it on, and trust only our own logins.
                    if (value is null || value.Length > 500 || Xtext.Decode(value) is null) return new SmtpReply(501, EnhancedStatus.InvalidArguments, "Error: bad AUTH parameter");
                    break;
                default:
                    return UnknownParameter;
            }
        }
        parameters = new MailParameters(size, body, utf8, ret, envid, requireTls);
        return null;
    }

    public static SmtpReply? ParseRcpt(string text, out RcptParameters parameters)
    {
        var notify = DsnNotify.Unspecified; string? orcptType = null; string? orcpt = null;
        parameters = new RcptParameters(notify, null, null);
        var seen = new HashSet<string>();
        foreach (var (key, value) in Split(text))
        {
            if (!seen.Add(key)) return new SmtpReply(501, EnhancedStatus.InvalidArguments, $"Error: duplicate {key} parameter");
            switch (key)
            {
                case "NOTIFY":
                    if (value is null) return new SmtpReply(501, EnhancedStatus.InvalidArguments, "Error: bad NOTIFY parameter");
                    foreach (var item in value.ToUpperInvariant().Split(','))
                    {
                        var flag = item switch
                        {
                            "NEVER" => DsnNotify.Never,
                            "SUCCESS" => DsnNotify.Success,
                            "FAILURE" => DsnNotify.Failure,
                            "DELAY" => DsnNotify.Delay,
                            _ => DsnNotify.Unspecified,
                        };
                        if (flag == DsnNotify.Unspecified || notify.HasFlag(flag))
                            return new SmtpReply(501, EnhancedStatus.InvalidArguments, "Error: bad NOTIFY parameter, use NEVER or SUCCESS,FAILURE,DELAY");
                        notify |= flag;
                    }
                    // NEVER must stand alone (RFC 3461 §4.1).
                    if (notify.HasFlag(DsnNotify.Never) && notify != DsnNotify.Never)
                        return new SmtpReply(501, EnhancedStatus.InvalidArguments, "Error: NOTIFY=NEVER cannot be combined with other values");
                    break;
                case "ORCPT":
                    // ORCPT=addr-type ";" xtext (RFC 3461 §4.2); addr-type is an atom such as rfc822 or utf-8.
                    int semi = value?.IndexOf(';') ?? -1;
                    if (value is null || semi <= 0) return new SmtpReply(501, EnhancedStatus.InvalidArguments, "Error: bad ORCPT parameter syntax");
                    orcptType = value.Substring(0, semi);
                    if (!orcptType.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')) return new SmtpReply(501, EnhancedStatus.InvalidArguments, "Error: bad ORCPT address type");
                    orcpt = Xtext.Decode(value.Substring(semi + 1));
                    // Printable US-ASCII only (RFC 3461 §4.2): the value is copied into DSN headers later.
                    if (orcpt is null || orcpt.Length == 0 || orcpt.Length > 500 || orcpt.Any(c => c < 32 || c > 126))
                        return new SmtpReply(501, EnhancedStatus.InvalidArguments, "Error: bad ORCPT parameter encoding");
                    break;
                default:
                    return UnknownParameter;
            }
        }
        parameters = new RcptParameters(notify, orcptType, orcpt);
        return null;
    }
}
