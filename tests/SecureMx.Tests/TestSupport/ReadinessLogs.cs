using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Config;
using SecureMx.Store;

namespace SecureMx.Tests.TestSupport;

/// <summary>
/// Writes session-log and delivery-log rows through the store's own write paths (the session log's
/// background writer, AppendDeliveryLog), for the readiness queries to read.
/// </summary>
public sealed class ReadinessLogs(SecureMxStore store, TimeProvider time)
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

    /// <summary>Runs the session log writer over the sessions added so far (its shutdown writes all of them).</summary>
    public async Task WriteSessionsAsync()
    {
        var log = new InboundSessionLog(store, new SecureMxOptions(), time, NullLogger<InboundSessionLog>.Instance);
        await log.StartAsync(CancellationToken.None);
        foreach (var s in _sessions) log.Add(s);
        var expected = _sessions.Count + SessionsOnDisk();
        _sessions.Clear();
        // Wait for the writer's own batch; stopping it before its loop has started would write nothing.
        for (var waited = 0; SessionsOnDisk() < expected; waited += 20)
        {
            if (waited > 10_000) throw new TimeoutException("the session log did not write the sessions");
            await Task.Delay(20);
        }
        await log.StopAsync(CancellationToken.None);
    }

    private long SessionsOnDisk()
    {
        using var c = store.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM inbound_sessions";
        return (long)cmd.ExecuteScalar()!;
    }

    /// <summary>One remote (or, with mx "local", local) delivery attempt; a new message unless <paramref name="messageId"/> is given.</summary>
    public string Delivery(DateTimeOffset at, string sender, string? account, string recipient, string? mx, string? protocol, string? cipher,
        string result = "delivered", string? messageId = null)
    {
        messageId ??= "m" + Interlocked.Increment(ref _messages);
        store.AppendDeliveryLog([new DeliveryLogEntry(at, messageId, sender, account, recipient, mx, mx is null or "local" ? null : "192.0.2.25", result,
            result == "delivered" ? 250 : 451, result == "delivered" ? "2.0.0" : "4.4.1", "x", protocol, cipher, protocol is null ? "none" : "encrypted")]);
        return messageId;
    }
}
