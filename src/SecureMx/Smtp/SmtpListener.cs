using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using SecureMx.Mail;
using SecureMx.Telemetry;

namespace SecureMx.Smtp;

/// <summary>
/// Accepts TCP connections on one endpoint and runs an <see cref="SmtpSession"/> for each. On stop it
/// closes the socket, tells idle sessions 421 at once and gives sessions in the middle of a transfer
/// a grace period to finish (so their message is either acknowledged and durable, or not acknowledged).
/// </summary>
public sealed class SmtpListener(SmtpServerContext ctx, ListenerSettings settings, IPEndPoint endpoint, ConnectionLimiter limiter)
{
    // Sessions are counted, not kept: StopAsync waits for the count to reach zero. A dictionary of their tasks, each
    // with a continuation that removed it, cost ~260 bytes a session (10 000 idle sessions: 2.6 MB).
    private int _sessionsRunning;
    private readonly TaskCompletionSource _allSessionsEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abort = new();
    private Socket? _socket;
    private Task? _acceptLoop;

    /// <summary>The wait after a failed accept, doubled at each further failure up to <see cref="LastAcceptBackOff"/>.</summary>
    public static readonly TimeSpan FirstAcceptBackOff = TimeSpan.FromMilliseconds(100);

    public static readonly TimeSpan LastAcceptBackOff = TimeSpan.FromSeconds(1);

    /// <summary>How often a listener that waits for room says so.</summary>
    public static readonly TimeSpan NoRoomLogInterval = TimeSpan.FromMinutes(1);

    /// <summary>Sessions running (counted for <see cref="StopAsync"/>).</summary>
    internal int SessionsRunning => Volatile.Read(ref _sessionsRunning);

    public IPEndPoint Endpoint => (IPEndPoint?)_socket?.LocalEndPoint ?? endpoint;

    public void Start()
    {
        // No SocketOptionName.ReuseAddress: on Linux .NET maps it to SO_REUSEPORT as well, and then a second
        // instance could bind the same port and silently share its connections.
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // [::] is dual-stack (IPV6_V6ONLY off): one socket takes both families, IPv4 clients as
            // ::ffff:a.b.c.d (ClientAddress.Normalize). The configuration refuses [::] next to an IPv4
            // listener on the same port (ListenerEndpoints), which the kernel would refuse with EADDRINUSE.
            if (endpoint.Address.Equals(IPAddress.IPv6Any)) socket.DualMode = true;
            socket.Bind(endpoint);
            socket.Listen(512);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new ListenerStartException($"cannot listen on {endpoint} for the {settings.Name} listener: {ex.Message}");
        }
        _socket = socket;
        _acceptLoop = AcceptLoopAsync(socket);
        ctx.Logger.LogInformation("listener {Name} on {Endpoint} (TLS profile {Profile})", settings.Name, endpoint, settings.TlsProfile.Name);
    }

    private async Task AcceptLoopAsync(Socket socket)
    {
        var failures = new AcceptFailureLog(ctx.Logger, ctx.Time, settings.Name);
        var backOff = FirstAcceptBackOff;
        DateTimeOffset? noRoomLogged = null;
        while (!_stopping.IsCancellationRequested)
        {
            // Room first: a connection accepted is a descriptor held, even one that is only told 421.
            if (!limiter.TryEnter())
            {
                if (noRoomLogged is not { } last || ctx.Time.GetUtcNow() - last >= NoRoomLogInterval)
                {
                    noRoomLogged = ctx.Time.GetUtcNow();
                    ctx.Logger.LogWarning("the SMTP listeners hold all the connections they have room for ({Sessions} sessions and {Refusals} being refused): new connections on the {Name} listener wait in the kernel's queue (limits.maxConnections)",
                        limiter.MaxTotal, limiter.RefusalAllowance, settings.Name);
                }
                if (!await limiter.EnterAsync(_stopping.Token)) break;
            }
            Socket? client = null;
            try
            {
                client = await socket.AcceptAsync(_stopping.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
            {
                continue; // the client gave up before it was accepted: nothing of ours failed
            }
            catch (SocketException ex)
            {
                // Out of descriptors (EMFILE, ENFILE: something besides the sessions took them, or the system ran out)
                // or kernel memory: the connection waits in the listen queue, unanswered, until descriptors are free.
                // Retried at growing intervals; AcceptFailureLog keeps the log short.
                SecureMxMetrics.SmtpAcceptFailures.Add(1, new KeyValuePair<string, object?>("listener", settings.Name), new("error", ex.SocketErrorCode.ToString()));
                failures.Failed(ex, backOff);
                try
                {
                    await Task.Delay(backOff, ctx.Time, _stopping.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                backOff = TimeSpan.FromTicks(Math.Min(backOff.Ticks * 2, LastAcceptBackOff.Ticks));
                continue;
            }
            catch (ObjectDisposedException)
            {
                break;
            }
            finally
            {
                if (client is null) limiter.Leave();
            }
            failures.Accepted();
            backOff = FirstAcceptBackOff;
            client.NoDelay = true;
            Interlocked.Increment(ref _sessionsRunning);
            _ = RunSessionAsync(client); // never throws (below); StopAsync waits for its end through the count
        }
    }

    /// <summary>
    /// One connection, from the accept to the close. One async method, not one awaiting another: each level is an
    /// object every idle session keeps (10 000 sessions: 1.1 MB a level).
    /// Begun on the accept loop's thread, which it leaves at its first wait (the banner sent, the first read): handed to
    /// the thread pool first (Task.Yield), every connection cost a pool thread's wake-up before its banner (issue 18,
    /// 14 paired runs at 1 session: median +4 % messages a second, -3.5 % CPU per message). What runs before that wait
    /// is short and never blocks: the limits, the session's objects, one send.
    /// </summary>
    private async Task RunSessionAsync(Socket client)
    {
        IPAddress? ip = null; // set once the limiter has counted the connection against its address
        SmtpReply? refusal = null;
        try
        {
            var remote = (IPEndPoint)client.RemoteEndPoint!;
            var address = ClientAddress.Normalize(remote.Address);
            refusal = limiter.TryAcquire(address);
            ip = address;
            var listener = new KeyValuePair<string, object?>("listener", settings.Name);
            SecureMxMetrics.SmtpConnections.Add(1, listener);
            if (refusal is not null)
            {
                SecureMxMetrics.SmtpRefused.Add(1, listener, new("reason", ReferenceEquals(refusal, SmtpReply.TooManyConnections) ? "connection_limit" : "ip_connection_limit"));
            }
            // A polite 421 on the implicit-TLS port costs a handshake (up to limits.tlsClientHelloTimeoutSeconds and
            // tlsHandshakeTimeoutSeconds); when many wait for one, the rest are closed without it (RFC 8314 §3.3
            // allows no plaintext there) rather than hold the room the sessions need.
            if (refusal is not null && settings.ImplicitTls && limiter.RefusalsCrowded) return;
            var session = new SmtpSession(ctx, settings, new NetworkStream(client, ownsSocket: true), remote, _stopping.Token, _abort.Token);
            await session.RunAsync(refusal);
        }
        catch (SocketException) when (ip is null)
        {
            // Gone before its session began (RemoteEndPoint: ENOTCONN): nothing was said, nothing to answer.
        }
        catch (Exception ex)
        {
            // RunAsync answers everything the client does; what is left is a bug, and it costs this connection only.
            ctx.Logger.LogError(ex, "session from {Ip} on {Name} ended with an unexpected error", ip, settings.Name);
        }
        finally
        {
            if (ip is not null)
            {
                if (refusal is null) limiter.Release(ip);
                else limiter.RefusalEnded();
            }
            // The session closes its connection; this is the net below it (a session that could not even start).
            client.Dispose();
            limiter.Leave();
            if (Interlocked.Decrement(ref _sessionsRunning) == 0 && _stopping.IsCancellationRequested) _allSessionsEnded.TrySetResult();
        }
    }

    public async Task StopAsync(TimeSpan grace)
    {
        _stopping.Cancel();
        _socket?.Dispose();
        if (_acceptLoop is not null) await _acceptLoop;
        // The accept loop has ended: the count only falls now, and the session that takes it to zero after the
        // cancellation above completes the wait; this covers the count having reached zero before it.
        if (SessionsRunning == 0) _allSessionsEnded.TrySetResult();
        var all = _allSessionsEnded.Task;
        if (await Task.WhenAny(all, Task.Delay(grace)) != all)
        {
            ctx.Logger.LogWarning("listener {Name}: {Count} session(s) still transferring after {Grace}; aborting them (their messages were not acknowledged)", settings.Name, SessionsRunning, grace);
            _abort.Cancel();
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(5)));
        }
    }
}

/// <summary>A listener could not bind its endpoint (in use, address not local, no permission).</summary>
public sealed class ListenerStartException(string message) : Exception(message);
