namespace SecureMx.Config;

/// <summary>The protocol a mail client speaks to one of the services.</summary>
public enum MailClientProtocol { Imap, Pop3, Smtp }

/// <summary>How a client connection is secured: TLS from the first byte ("implicit TLS", RFC 8314 §3), or STARTTLS before the login.</summary>
public enum MailClientSecurity { ImplicitTls, StartTls }

/// <summary>One service a mail client is set up with: where it connects, how, and the configuration key it comes from.</summary>
public sealed record MailClientService(MailClientProtocol Protocol, MailClientSecurity Security, string Host, int Port, string ConfigKey)
{
    /// <summary>Reading mail (IMAP, POP3) rather than sending it (SMTP submission).</summary>
    public bool Incoming => Protocol != MailClientProtocol.Smtp;

    /// <summary>
    /// The SRV service name: _imaps, _imap, _pop3s, _pop3, _submission (RFC 6186 §3.1–3.3) and
    /// _submissions (RFC 8314 §5.1).
    /// </summary>
    public string SrvService => (Protocol, Security) switch
    {
        (MailClientProtocol.Imap, MailClientSecurity.ImplicitTls) => "_imaps",
        (MailClientProtocol.Imap, _) => "_imap",
        (MailClientProtocol.Pop3, MailClientSecurity.ImplicitTls) => "_pop3s",
        (MailClientProtocol.Pop3, _) => "_pop3",
        (_, MailClientSecurity.ImplicitTls) => "_submissions",
        _ => "_submission",
    };
}

/// <summary>
/// The services mail clients use, from the configuration: IMAP and POP3 where Dovecot listens
/// (<c>mailAccess.*</c>), SMTP submission where SecureMx does (<c>listeners.submissions</c>,
/// <c>listeners.submission</c>), all under <see cref="MailAccessOptions.EffectiveHost"/>. The one
/// source of the dashboard's settings table, the autoconfig file and the SRV records of
/// `securemx dns-records`, so the three always say the same.
/// </summary>
public static class MailClientServices
{
    /// <summary>
    /// The configured services in the order clients should prefer them: IMAP before POP3, then SMTP;
    /// implicit TLS before STARTTLS within each (RFC 8314 §5.1). An empty, "off" or unreadable
    /// endpoint is a service not offered.
    /// </summary>
    public static IReadOnlyList<MailClientService> Offered(SecureMxOptions options)
    {
        var host = options.MailAccess.EffectiveHost(options);
        var access = options.MailAccess;
        var candidates = new (MailClientProtocol, MailClientSecurity, string Key, string Value)[]
        {
            (MailClientProtocol.Imap, MailClientSecurity.ImplicitTls, "mailAccess.imaps", access.Imaps),
            (MailClientProtocol.Imap, MailClientSecurity.StartTls, "mailAccess.imap", access.Imap),
            (MailClientProtocol.Pop3, MailClientSecurity.ImplicitTls, "mailAccess.pop3s", access.Pop3s),
            (MailClientProtocol.Pop3, MailClientSecurity.StartTls, "mailAccess.pop3", access.Pop3),
            (MailClientProtocol.Smtp, MailClientSecurity.ImplicitTls, "listeners.submissions", options.Listeners.Submissions),
            (MailClientProtocol.Smtp, MailClientSecurity.StartTls, "listeners.submission", options.Listeners.Submission),
        };
        var offered = new List<MailClientService>();
        foreach (var (protocol, security, key, value) in candidates)
        {
            if (Endpoint.TryParseQuiet(value.Trim()) is { } endpoint) offered.Add(new MailClientService(protocol, security, host, endpoint.Port, key));
        }
        return offered;
    }
}
