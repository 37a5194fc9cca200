using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Config;
using SecureMx.Store;

namespace SecureMx.Tests.TestSupport;

/// <summary>
/// Writes session-log and delivery-log rows through the store's own write paths (the log writers),
/// for the readiness queries to read.
/// </summary>
public sealed class ReadinessLogs(TestStore store, TimeProvider time)
{
    public const string Strict13 = "TLS_AES_256_GCM_SHA384";
    public const string Strict12 = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";
    public const string Cbc12 = "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256";

    private readonly List<InboundSessionRecord> _sessions = [];
    private int _messages;

    /// <summary>One session (written by <see cref="WriteSessionsAsync"/>) with recipients accepted or refused.</summary>
    public InboundSessionRecord Session(DateTimeOffset at, string ip, string? helo, string? protocol, string? cipher, string listener = "mx")
    {
        var r = new InboundSessionRecord(Guid.NewGuid().ToString("N"), at, listener, ip) { Helo = helo, TlsProtocol = protocol, TlsCipher = cipher, EndedAt = at, EndReason = "quit" };
        _sessions.Add(r);
        return r;
    }

    public static void Recipient(InboundSessionRecord session, string? fromDomain, string recipientDomain, bool accepted = true) =>
        session.Recipients.Add(new InboundRecipientEvent(session.StartedAt, fromDomain, recipientDomain, accepted, accepted ? "250 2.1.5 ok" : "554 5.7.1 refused"));

    /// <summary>Adds the sessions so far to a session log and stops its writer, which writes them.</summary>
    public async Task WriteSessionsAsync()
    {
        using var log = new SessionLogRepository(store.Database, new LogOptions(), time, NullLogger.Instance);
        foreach (var s in _sessions) log.Add(s);
        _sessions.Clear();
        await log.Writer.StopAsync(CancellationToken.None);
    }

    /// <summary>
    /// One remote (or, with mx "local", local) delivery attempt; a new message unless <paramref name="messageId"/> is given;
    /// <paramref name="tlsFailure"/>: in plaintext after a failed STARTTLS, for that reason.
    /// </summary>
    public string Delivery(DateTimeOffset at, string sender, string? account, string recipient, string? mx, string? protocol, string? cipher,
        string result = "delivered", string? messageId = null, string? tlsFailure = null)
    {
        messageId ??= "m" + Interlocked.Increment(ref _messages);
        store.DeliveryLog.Append([new DeliveryLogEntry(at, messageId, sender, account, recipient, mx, mx is null or "local" ? null : "192.0.2.25", result,
            result == "delivered" ? 250 : 451, result == "delivered" ? "2.0.0" : "4.4.1", "x", protocol, cipher, protocol is null ? "none" : "encrypted", tlsFailure)]);
        return messageId;
    }
}
