using System.Collections.Concurrent;
using System.Net;
using SecureMx.Client;

namespace SecureMx.Delivery.Remote;

/// <summary>
/// Keeps connections to remote servers open for a few seconds after a transaction, so that the next
/// message to the same server reuses the session (and its TLS handshake) instead of opening a new
/// one — Postfix's connection cache, in small. A connection carries at most
/// <c>delivery.connectionReuseLimit</c> transactions, waits idle at most <c>delivery.connectionIdleSeconds</c>,
/// and is checked with RSET before reuse.
/// Connections are kept per server and per TLS requirement (<see cref="HostTlsRequirement.CacheKey"/>):
/// a session opened for opportunistic delivery, perhaps in plaintext, never serves a delivery that
/// requires TLS or DANE, and a DANE-verified one only serves the MX host name it was verified for.
/// </summary>
public sealed class SmtpConnectionCache : IAsyncDisposable
{
    /// <summary>The default of delivery.connectionReuseLimit: transactions per connection.</summary>
    public const int DefaultReuseLimit = 1000;

    private sealed record Entry(SmtpClientConnection Connection, DateTimeOffset IdleSince);

    private readonly ConcurrentDictionary<(EndPoint Remote, string Requirement), ConcurrentStack<Entry>> _idle = new();
    private readonly TimeSpan _idleTime;
    private readonly int _reuseLimit;
    private readonly TimeProvider _time;
    private readonly ITimer? _sweeper;

    /// <param name="idleTime">How long a connection waits for the next message; zero keeps none.</param>
    /// <param name="reuseLimit">Transactions a connection carries before it is closed (1: no reuse).</param>
    public SmtpConnectionCache(TimeSpan idleTime, TimeProvider time, int reuseLimit = DefaultReuseLimit)
    {
        _idleTime = idleTime;
        _reuseLimit = reuseLimit;
        _time = time;
        if (idleTime > TimeSpan.Zero) _sweeper = time.CreateTimer(_ => _ = SweepAsync(), null, idleTime, idleTime);
    }

    /// <summary>Connections waiting for a next message.</summary>
    public int IdleCount => _idle.Values.Sum(s => s.Count);

    /// <summary>An idle connection to <paramref name="remote"/> that still answers RSET, or null.</summary>
    public async Task<SmtpClientConnection?> TakeAsync(IPEndPoint remote, string requirement, CancellationToken ct)
    {
        if (!_idle.TryGetValue((remote, requirement), out var stack)) return null;
        while (stack.TryPop(out var entry))
        {
            try
            {
                if (await entry.Connection.ResetAsync(ct).ConfigureAwait(false)) return entry.Connection;
            }
            catch (Exception ex) when (ex is IOException or SmtpClientException or ObjectDisposedException or OperationCanceledException)
            {
                // closed by the server meanwhile, or a 4xx to RSET: a new connection instead
            }
            await entry.Connection.DisposeAsync().ConfigureAwait(false);
        }
        return null;
    }

    /// <summary>Hands back a connection after a completed transaction; it is closed instead when it has served enough.</summary>
    /// <param name="requirement">The TLS requirement the connection was opened (and verified) for.</param>
    public async Task ReturnAsync(SmtpClientConnection connection, string requirement, CancellationToken ct)
    {
        if (connection.Transactions >= _reuseLimit || _idleTime <= TimeSpan.Zero)
        {
            await connection.QuitAsync(ct).ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false);
            return;
        }
        _idle.GetOrAdd((connection.Remote, requirement), _ => new ConcurrentStack<Entry>()).Push(new Entry(connection, _time.GetUtcNow()));
    }

    /// <summary>Closes connections idle for longer than the idle time (politely, with QUIT).</summary>
    private async Task SweepAsync()
    {
        var now = _time.GetUtcNow();
        foreach (var (_, stack) in _idle)
        {
            var keep = new List<Entry>();
            while (stack.TryPop(out var e))
            {
                if (now - e.IdleSince < _idleTime) keep.Add(e);
                else await CloseAsync(e.Connection).ConfigureAwait(false);
            }
            foreach (var e in keep.AsEnumerable().Reverse()) stack.Push(e);
        }
    }

    private static async Task CloseAsync(SmtpClientConnection c)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await c.QuitAsync(timeout.Token).ConfigureAwait(false);
        await c.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_sweeper is not null) await _sweeper.DisposeAsync().ConfigureAwait(false);
        foreach (var (_, stack) in _idle)
        {
            while (stack.TryPop(out var e)) await CloseAsync(e.Connection).ConfigureAwait(false);
        }
    }
}
