using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Config;
using SecureMx.Store;

namespace SecureMx.Tests.TestSupport;

/// <summary>Writes session-log rows with RCPTs refused under mandatory TLS (and others) through the session log's own writer.</summary>
public sealed class RefusedLogs(TestStore store, TimeProvider time)
{
    public const string Cbc12 = "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256";
    public const string Strict13 = "TLS_AES_256_GCM_SHA384";
    public const string Refusal = "554 5.7.1 Error: example.org requires secure TLS";

    private readonly List<InboundSessionRecord> _sessions = [];

    public InboundSessionRecord Session(DateTimeOffset at, string ip, string? helo = "h.sender.test", string? protocol = null, string? cipher = null, string? reverseName = null)
    {
        var r = new InboundSessionRecord(Guid.NewGuid().ToString("N"), at, "mx", ip)
        {
            Helo = helo, TlsProtocol = protocol, TlsCipher = cipher, ReverseName = reverseName, EndedAt = at, EndReason = "quit",
        };
        _sessions.Add(r);
        return r;
    }

    /// <summary>A RCPT of <paramref name="session"/> at its start plus <paramref name="offsetSeconds"/>: refused for mandatory TLS unless another refusal (or null: accepted) is named.</summary>
    public static void Rcpt(InboundSessionRecord session, string mailFrom, string recipient, string? refusal = RefusedAttemptRepository.MandatoryTls, int offsetSeconds = 0)
    {
        var domain = recipient[(recipient.LastIndexOf('@') + 1)..];
        var fromDomain = mailFrom.Length == 0 ? null : mailFrom[(mailFrom.LastIndexOf('@') + 1)..];
        session.Recipients.Add(new InboundRecipientEvent(session.StartedAt.AddSeconds(offsetSeconds), fromDomain, domain, refusal is null,
            refusal is null ? "250 2.1.5 Ok" : Refusal, mailFrom, recipient, refusal));
    }

    public async Task WriteAsync()
    {
        using var log = new SessionLogRepository(store.Database, new LogOptions(), time, NullLogger.Instance, node: "node1");
        foreach (var s in _sessions) log.Add(s);
        _sessions.Clear();
        await log.Writer.StopAsync(CancellationToken.None);
    }
}
