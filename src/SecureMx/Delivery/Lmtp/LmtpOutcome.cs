using SecureMx.Mail;
using SecureMx.Spool;

namespace SecureMx.Delivery.Lmtp;

/// <summary>What one LMTP transaction did for one recipient.</summary>
/// <param name="ServerReply">The LMTP server's own reply ("550 5.1.1 …") when it gave the outcome: the DSN's Diagnostic-Code; null when we decided (connection failures).</param>
/// <param name="Tls">The TLS of the connection, when STARTTLS was used.</param>
public sealed record LmtpOutcome(QueuedRecipient Recipient, DeliveryOutcome Outcome, string? ServerReply, NegotiatedTls? Tls);
