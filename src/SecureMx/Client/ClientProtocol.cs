namespace SecureMx.Client;

/// <summary>Which of the two dialects a client connection speaks.</summary>
public enum ClientProtocol
{
    /// <summary>SMTP (RFC 5321): EHLO, with HELO as fallback; one reply to the message content.</summary>
    Smtp,

    /// <summary>
    /// LMTP (RFC 2033), for final delivery to a mailbox server: LHLO instead of EHLO (§4.1), and
    /// after the content one reply per accepted recipient, in RCPT order (§4.2).
    /// </summary>
    Lmtp,
}
