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
    private readonly List<Task> _sessions = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abort = new();
    private Socket? _socket;
    private Task? _acceptLoop;

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
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await socket.AcceptAsync(_stopping.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException ex)
            {
                ctx.Logger.LogWarning("accept on {Name} failed: {Error}", settings.Name, ex.Message);
                await Task.Delay(100);
                continue;
            }
            catch (ObjectDisposedException)
            {
                break;
            }
            client.NoDelay = true;
            var task = RunSessionAsync(client);
            lock (_sessions)
            {
                _sessions.RemoveAll(t => t.IsCompleted);
                _sessions.Add(task);
            }
        }
    }

    private async Task RunSessionAsync(Socket client)
    {
        // Off the accept loop at once; the session's own task is the one tracked (Task.Run kept a wrapper per session).
        await Task.Yield();
        var remote = (IPEndPoint)client.RemoteEndPoint!;
        var ip = ClientAddress.Normalize(remote.Address);
        var refusal = limiter.TryAcquire(ip);
        var listener = new KeyValuePair<string, object?>("listener", settings.Name);
        SecureMxMetrics.SmtpConnections.Add(1, listener);
        if (refusal is not null)
        {
            SecureMxMetrics.SmtpRefused.Add(1, listener, new("reason", ReferenceEquals(refusal, SmtpReply.TooManyConnections) ? "connection_limit" : "ip_connection_limit"));
        }
        try
        {
            var session = new SmtpSession(ctx, settings, new NetworkStream(client, ownsSocket: true), remote, _stopping.Token, _abort.Token);
            await session.RunAsync(refusal);
        }
        catch (Exception ex)
        {
            // RunAsync answers everything the client does; what is left is a bug, and it costs this connection only.
            ctx.Logger.LogError(ex, "session from {Ip} on {Name} ended with an unexpected error", ip, settings.Name);
        }
        finally
        {
            // The session closes its connection; this is the net below it (a session that could not even start).
            client.Dispose();
            if (refusal is null) limiter.Release(ip);
        }
    }

    public async Task StopAsync(TimeSpan grace)
    {
        _stopping.Cancel();
        _socket?.Dispose();
        if (_acceptLoop is not null) await _acceptLoop;
        Task[] running;
        lock (_sessions) running = _sessions.ToArray();
        var all = Task.WhenAll(running);
        if (await Task.WhenAny(all, Task.Delay(grace)) != all)
        {
            ctx.Logger.LogWarning("listener {Name}: {Count} session(s) still transferring after {Grace}; aborting them (their messages were not acknowledged)", settings.Name, running.Count(t => !t.IsCompleted), grace);
            _abort.Cancel();
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(5)));
        }
    }
}

/// <summary>A listener could not bind its endpoint (in use, address not local, no permission).</summary>
public sealed class ListenerStartException(string message) : Exception(message);
