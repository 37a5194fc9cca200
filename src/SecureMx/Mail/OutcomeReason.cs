namespace SecureMx.Mail;

/// <summary>
/// Why a recipient's last delivery attempt ended as it did: the class of cause the queue, DSNs, the
/// dashboard and the CLI act on, stored beside the status code so that nothing has to recognise a
/// cause by reading reply text. <see cref="OutcomeReasons.Name"/> gives the stored form.
/// </summary>
public enum OutcomeReason
{
    /// <summary>
    /// Final delivery on this instance: into a Maildir (delivered, or the write failed: 4.2.0), or
    /// through the mailbox server's LMTP (delivery.lmtp: its reply for the recipient, or why there was
    /// none). A success is reported as "delivered" (RFC 3464), not "relayed".
    /// </summary>
    Local,

    /// <summary>A remote server answered the transaction: delivered, or its own 4xx/5xx reply to RCPT or DATA.</summary>
    RemoteReply,

    /// <summary>
    /// No MX host took the transaction: connections refused, dropped or timed out, a 4xx greeting or a
    /// 4xx to MAIL at every host (RFC 5321 §5.1: every host tried in turn); 4.4.1.
    /// </summary>
    Connection,

    /// <summary>The recipient domain could not be resolved: SERVFAIL or timeout (4.4.3), NXDOMAIN (5.1.2), null MX (5.1.10), no address (5.4.4).</summary>
    Dns,

    /// <summary>
    /// No MX host met the TLS requirement (4.7.4 TLS not offered, 4.7.5 handshake, verification or TLSA
    /// lookup failed): the recipient waits for a server that does, and expires after queue.tlsExpireAfter.
    /// The outcome's <see cref="DeliveryOutcome.RequiredTls"/> says which requirement.
    /// </summary>
    TlsRequirement,

    /// <summary>
    /// The server lacks what this message needs and we did not send it: SMTPUTF8 (RFC 6531 §3.2, 5.6.7)
    /// or a SIZE limit below the message (RFC 1870, 5.3.4).
    /// </summary>
    ServerCapability,

    /// <summary>Still undelivered when its time ran out (queue.expireAfter, 5.4.7; queue.tlsExpireAfter for a TLS wait).</summary>
    Expired,

    /// <summary>Given up on by the operator (`securemx queue bounce`, 5.0.0).</summary>
    Administrator,
}

public static class OutcomeReasons
{
    /// <summary>The stored and printed form: "tls-requirement", "remote-reply", …</summary>
    public static string Name(this OutcomeReason reason) => reason switch
    {
        OutcomeReason.Local => "local",
        OutcomeReason.RemoteReply => "remote-reply",
        OutcomeReason.Connection => "connection",
        OutcomeReason.Dns => "dns",
        OutcomeReason.TlsRequirement => "tls-requirement",
        OutcomeReason.ServerCapability => "server-capability",
        OutcomeReason.Expired => "expired",
        OutcomeReason.Administrator => "administrator",
        _ => throw new ArgumentOutOfRangeException(nameof(reason)),
    };

    public static bool TryParse(string? text, out OutcomeReason reason) => EnumNames.TryParse(text, Name, out reason);
}
