using System.Net;
using System.Text;
using SecureMx.Smtp;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Smtp;

/// <summary>The end of a session: whatever closing the connection throws, the session is recorded and nothing escapes.</summary>
public sealed class SmtpSessionCloseTests
{
    /// <summary>A client that sends its script, takes every reply, and whose connection fails to close (as a TLS dispose can).</summary>
    private sealed class ConnectionThatFailsToClose(string script) : Stream
    {
        private readonly MemoryStream _input = new(Encoding.ASCII.GetBytes(script));

        public MemoryStream Output { get; } = new();

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => _input.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(_input.Read(buffer.Span));

        public override void Write(byte[] buffer, int offset, int count) => Output.Write(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Output.Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override void Flush() { }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override async ValueTask DisposeAsync()
        {
            await base.DisposeAsync();
            throw new IOException("closing the connection failed");
        }
    }

    [Fact]
    public async Task AFailureWhileClosingTheConnectionStillRecordsTheSession()
    {
        await using var server = await SmtpTestServer.StartAsync();
        var connection = new ConnectionThatFailsToClose("EHLO client.test\r\nQUIT\r\n");
        var session = new SmtpSession(server.Context, ListenerSettings.Mx(TlsProfile.Opportunistic), connection,
            new IPEndPoint(IPAddress.Loopback, 40025), CancellationToken.None, CancellationToken.None);

        await session.RunAsync(); // never throws, whatever closing did

        Assert.EndsWith("221 2.0.0 Bye\r\n", Encoding.ASCII.GetString(connection.Output.ToArray()), StringComparison.Ordinal);
        await server.StopAsync();
        var row = Assert.Single(server.Store.Database.Rows("SELECT helo, end_reason FROM inbound_sessions",
            r => (r.GetString(0), r.GetString(1))));
        Assert.Equal(("client.test", "quit"), row);
    }
}
