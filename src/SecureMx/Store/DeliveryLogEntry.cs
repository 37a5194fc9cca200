using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.Spool;
namespace SecureMx.Store;

/// <summary>
/// One delivery attempt for one recipient, as the delivery log keeps it. <see cref="Result"/> is
/// delivered, deferred or failed; <see cref="TlsVerification"/> none, encrypted, dane or verified, or
/// <see cref="Local"/> for a delivery into a Maildir here (which crosses no network).
/// <see cref="TlsFailure"/>: the server offered STARTTLS, the handshake failed, and the attempt went
/// on in plaintext (opportunistic levels) — why, in words; null otherwise.
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
    string TlsVerification,
    string? TlsFailure = null)
{
    /// <summary>The host and the verification of a local delivery.</summary>
    public const string Local = "local";

    /// <summary>
    /// What the recipient domain's MTA-STS policy said of the attempt, "RESULT-TYPE: DETAIL" with the
    /// RFC 8460 result type first (starttls-not-supported, certificate-host-mismatch, certificate-expired,
    /// certificate-not-trusted, validation-failure, sts-policy-fetch-error): the host failed the policy
    /// (enforce: the deferral), would have failed it (testing: delivered anyway), or the policy could not
    /// be fetched; null otherwise. What TLS reporting reads.
    /// </summary>
    public string? MtaStsFailure { get; init; }

    /// <summary>The node that made the attempt (node.name; empty for rows written before nodes had names). Set when read, not when appended: the writer writes its own node's.</summary>
    public string Node { get; init; } = "";

    /// <summary>A local delivery; rows written before verification "local" have only the host "local" and no address.</summary>
    /// <summary>What the logs write for a failed STARTTLS: "starttls-failed: REASON", or null.</summary>
    public string? TlsFailureText => TlsFailure is null ? null : "starttls-failed: " + TlsFailure;

    public bool IsLocal => TlsVerification == Local || (MxHost == Local && Ip is null);
}
