using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.Spool;
namespace SecureMx.Store;

/// <summary>
/// One delivery attempt for one recipient, as the delivery log keeps it. <see cref="Result"/> is
/// delivered, deferred or failed; <see cref="TlsVerification"/> none, encrypted, dane or verified.
/// </summary>
public sealed record DeliveryLogEntry(
    DateTimeOffset At,
    string MessageId,
    string Sender,
    string? Account,
    string Recipient,
    string? MxHost,
    string? Ip,
    string Result,
    int? Code,
    string? Enhanced,
    string? Text,
    string? TlsProtocol,
    string? TlsCipher,
    string TlsVerification);
