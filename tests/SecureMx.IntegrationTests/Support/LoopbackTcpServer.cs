using System.Net;
using System.Net.Sockets;

namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// The common part of the tests' small in-process servers (an SMTP or LMTP peer Postfix cannot play):
/// a listener on one endpoint that accepts until disposed and serves each client on a task of its own.
/// A subclass calls <see cref="StartAccepting"/> at the end of its constructor, once its own state is set.
/// </summary>
public abstract class LoopbackTcpServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    /// <param name="reuseAddress">SO_REUSEADDR, for a server a test starts again on the same endpoint.</param>
    protected LoopbackTcpServer(IPEndPoint endpoint, bool reuseAddress = false)
    {
        _listener = new TcpListener(endpoint);
        if (reuseAddress) _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
    }

    /// <summary>Cancelled when the server is disposed.</summary>
    protected CancellationToken Stopping => _stop.Token;

    protected void StartAccepting() => _loop = AcceptAsync();

    /// <summary>One client's conversation; the client is the method's to dispose.</summary>
    protected abstract Task ServeAsync(TcpClient client);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException) { return; }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _loop;
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }
}
