namespace SecureMx.Mail;

/// <summary>Who handed the message to us, and how (for the Received header, RFC 5321 §4.4).</summary>
public sealed record ClientTrace(
    string Listener,
    string ClientIp,
    string Helo,
    string Protocol,
    NegotiatedTls? Tls,
    string? Account);
