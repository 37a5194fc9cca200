using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SecureMx.Mail;
using SecureMx.Smtp;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>How the transport writes replies (RFC 5321 §4.2.1, RFC 2034 §3).</summary>
public sealed class SmtpTransportTests
{
    private static async Task<string> RenderAsync(SmtpReply reply)
    {
        var wire = new MemoryStream();
        await using (var transport = new SmtpTransport(wire))
        {
            transport.Write(reply);
            await transport.FlushAsync(TestContext.Current.CancellationToken);
            return Encoding.UTF8.GetString(wire.ToArray());
        }
    }

    [Fact]
    public async Task SingleLineReplyCarriesTheEnhancedCode()
    {
        Assert.Equal("250 2.1.5 Recipient OK\r\n", await RenderAsync(SmtpReply.RecipientOk));
    }

    [Fact]
    public async Task MultiLineReplyUsesDashesAndRepeatsTheEnhancedCodeOnEveryLine()
    {
        var reply = new SmtpReply(550, EnhancedStatus.NotAuthorized, ["first", "second", "third"]);
        Assert.Equal("550-5.7.1 first\r\n550-5.7.1 second\r\n550 5.7.1 third\r\n", await RenderAsync(reply));
    }

    [Fact]
    public async Task ReplyWithoutEnhancedCodeHasNoPrefix()
    {
        Assert.Equal("354 End data with <CR><LF>.<CR><LF>\r\n", await RenderAsync(SmtpReply.StartData));
        Assert.Equal("250-a\r\n250 b\r\n", await RenderAsync(new SmtpReply(250, null, ["a", "b"])));
    }

    /// <summary>Reads lines from <paramref name="pieces"/>, each written (and flushed) on its own, as a client's separate sends.</summary>
    private static async Task<List<(LineStatus Status, string Line)>> ReadLinesAsync(int maxLength, params string[] pieces)
    {
        var pipe = new Pipe();
        var ct = TestContext.Current.CancellationToken;
        var writer = Task.Run(async () =>
        {
            foreach (var piece in pieces)
            {
                await pipe.Writer.WriteAsync(Encoding.Latin1.GetBytes(piece), ct);
                await Task.Yield();
            }
            await pipe.Writer.CompleteAsync();
        }, ct);
        var lines = new List<(LineStatus, string)>();
        await using var transport = new SmtpTransport(pipe.Reader.AsStream());
        while (true)
        {
            var (status, line) = await transport.ReadLineAsync(maxLength, ct);
            if (status == LineStatus.Closed) break;
            lines.Add((status, line));
        }
        await writer;
        return lines;
    }

    [Theory]
    [InlineData("NOOP x\nMAIL FROM:<a@ext.test>\r\n")]
    [InlineData("NOOP x\n", "MAIL FROM:<a@ext.test>\r\n")]
    [InlineData("NOOP x\nMAIL FROM:<a@ext.test>\r", "\n")]
    [InlineData("\n", "MAIL FROM:<a@ext.test>\r\n")]
    public async Task BareLfDoesNotEndALineAtAnySplit(params string[] pieces)
    {
        var lines = await ReadLinesAsync(512, [.. pieces, "NOOP\r\n"]);
        Assert.Equal(2, lines.Count);
        Assert.Equal(LineStatus.BareLineEnding, lines[0].Status);
        Assert.Contains("MAIL FROM:<a@ext.test>", lines[0].Line, StringComparison.Ordinal);
        Assert.Equal((LineStatus.Ok, "NOOP"), lines[1]);
    }

    [Fact]
    public async Task NulAndBareCrAreToldApart()
    {
        var lines = await ReadLinesAsync(512, "NO\0OP\r\n", "NO\rOP\r\n", "NOOP\r\r\n");
        Assert.Equal([LineStatus.Nul, LineStatus.BareLineEnding, LineStatus.BareLineEnding], lines.Select(l => l.Status));
    }

    [Fact]
    public async Task OverlongLineWithABareLfIsOneRefusedLineUpToItsCrLf()
    {
        // The bare LF comes early, the line is discarded in pieces, and the real CRLF arrives much later.
        var lines = await ReadLinesAsync(512, "MAIL FROM:<a@x>\n", new string('y', 3000), "RCPT TO:<b@y>\r\n", "NOOP\r\n");
        Assert.Equal([(LineStatus.BareLineEnding, ""), (LineStatus.Ok, "NOOP")], lines);
    }

    [Fact]
    public async Task CrAtTheEndOfADiscardedPieceStillPairsWithTheLfAfterIt()
    {
        var lines = await ReadLinesAsync(512, new string('y', 3000) + "\r", "\nNOOP\r\n");
        Assert.Equal([(LineStatus.TooLong, ""), (LineStatus.Ok, "NOOP")], lines);
    }

    /// <summary>Waits (in real time, briefly) until the transport has armed a timer on <paramref name="clock"/>.</summary>
    private static async Task<SteppingTimeProvider.TrackedTimer> ArmedTimerAsync(SteppingTimeProvider clock, Task pending)
    {
        for (int i = 0; i < 500 && !pending.IsCompleted; i++)
        {
            if (clock.NextPending is { } timer) return timer;
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
        throw new InvalidOperationException(pending.IsCompleted ? "the read ended without waiting" : "the read never armed a timer");
    }

    [Fact]
    public async Task BareLfWithNothingAfterItEndsTheReadAfterTheGraceOnTheTransportsClock()
    {
        var ct = TestContext.Current.CancellationToken;
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var clock = new SteppingTimeProvider(start);
        var pipe = new Pipe();
        await using var transport = new SmtpTransport(pipe.Reader.AsStream(), clock);
        await pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes("EHLO x\n"), ct); // the client then waits for a reply

        var read = transport.ReadLineAsync(512, ct).AsTask();
        var timer = await ArmedTimerAsync(clock, read);
        Assert.Equal(start + SmtpTransport.BareLfGrace, timer.Due);

        clock.MoveTo(timer.Due - TimeSpan.FromMilliseconds(1));
        await Task.Delay(50, ct);
        Assert.False(read.IsCompleted); // a line in pieces may still go on

        clock.MoveTo(timer.Due);
        var (status, _) = await read.WaitAsync(TimeSpan.FromSeconds(10), ct);
        Assert.Equal(LineStatus.BareLfUnterminated, status);
        await pipe.Writer.CompleteAsync();
    }

    [Fact]
    public async Task BytesWithinTheGraceContinueTheLineAndTheNextWaitGetsAFreshGrace()
    {
        var ct = TestContext.Current.CancellationToken;
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var clock = new SteppingTimeProvider(start);
        var pipe = new Pipe();
        await using var transport = new SmtpTransport(pipe.Reader.AsStream(), clock);
        await pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes("NOOP x\n"), ct);

        var read = transport.ReadLineAsync(512, ct).AsTask();
        var first = await ArmedTimerAsync(clock, read);
        clock.MoveTo(first.Due - TimeSpan.FromMilliseconds(1));
        await pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes("MAIL FROM:<a@ext.test>"), ct);

        // The new bytes did not end the line: the transport waits again, a whole grace from now.
        SteppingTimeProvider.TrackedTimer? second = null;
        for (int i = 0; i < 500 && second is null; i++)
        {
            if (clock.NextPending is { } t && t != first) second = t;
            else await Task.Delay(10, ct);
        }
        Assert.NotNull(second);
        Assert.Equal(clock.GetUtcNow() + SmtpTransport.BareLfGrace, second.Due);
        Assert.False(read.IsCompleted);

        await pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes("\r\n"), ct);
        var (status, line) = await read.WaitAsync(TimeSpan.FromSeconds(10), ct);
        Assert.Equal(LineStatus.BareLineEnding, status);
        Assert.Equal("NOOP x\nMAIL FROM:<a@ext.test>", line);
        await pipe.Writer.CompleteAsync();
    }

    /// <summary>A server transport over one end of a loopback TCP connection, the other end the client's socket;
    /// every read the transport makes is recorded with the size of its buffer.</summary>
    private sealed class Connection : IAsyncDisposable
    {
        public required Socket Client { get; init; }
        public required ReadRecordingStream Server { get; init; }
        public required SmtpTransport Transport { get; init; }

        public static async Task<Connection> OpenAsync(CancellationToken ct)
        {
            using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen();
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(listener.LocalEndPoint!, ct);
            var server = new ReadRecordingStream(new NetworkStream(await listener.AcceptAsync(ct), ownsSocket: true));
            return new Connection { Client = client, Server = server, Transport = new SmtpTransport(server) };
        }

        public Task SendAsync(string text, CancellationToken ct) => Client.SendAsync(Encoding.ASCII.GetBytes(text), ct).AsTask();

        /// <summary>What the client has received until <paramref name="lines"/> lines have come.</summary>
        public async Task<string> ReceiveLinesAsync(int lines, CancellationToken ct)
        {
            var received = new StringBuilder();
            var buffer = new byte[1024];
            while (received.ToString().Split("\r\n").Length - 1 < lines)
            {
                int n = await Client.ReceiveAsync(buffer, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), ct);
                if (n == 0) break;
                received.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
            return received.ToString();
        }

        public async ValueTask DisposeAsync()
        {
            await Transport.DisposeAsync();
            Client.Dispose();
        }
    }

    private sealed class ReadRecordingStream(Stream inner) : Stream
    {
        private readonly List<int> _reads = [];

        /// <summary>The buffer size of every read started so far, in order.</summary>
        public int[] ReadSizes { get { lock (_reads) return [.. _reads]; } }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            lock (_reads) _reads.Add(buffer.Length);
            return inner.ReadAsync(buffer, cancellationToken);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("the transport reads asynchronously");
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("the transport writes asynchronously");
        public override void Flush() => inner.Flush();
        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }

    [Fact]
    public async Task BetweenCommandsTheRepliesGoOutAndTheConnectionWaitsWithNoReadBuffer()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var c = await Connection.OpenAsync(ct);
        c.Transport.Write(SmtpReply.Ok);

        var wait = c.Transport.WaitForInputAsync(ct).AsTask();
        Assert.Equal("250 2.0.0 OK\r\n", await c.ReceiveLinesAsync(1, ct));
        await Task.Delay(50, ct);
        Assert.False(wait.IsCompleted);
        Assert.Equal([0], c.Server.ReadSizes); // a zero-byte read: no buffer rented while the client is silent

        await c.SendAsync("NOOP\r\n", ct);
        await wait.WaitAsync(TimeSpan.FromSeconds(10), ct);
        var (status, command, _) = await c.Transport.ReadCommandAsync(512, ct);
        Assert.Equal((LineStatus.Ok, SmtpVerb.Noop), (status, command.Verb));
        // The bytes the wait saw arrive are read at once, without a second zero-byte read.
        Assert.Equal(2, c.Server.ReadSizes.Length);
        Assert.True(c.Server.ReadSizes[1] > 0);
    }

    [Fact]
    public async Task PipelinedCommandsNeedNoWaitAndTheirRepliesGoOutTogether()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var c = await Connection.OpenAsync(ct);
        await c.SendAsync("NOOP\r\nRSET\r\n", ct);
        await c.Transport.WaitForInputAsync(ct);
        Assert.Equal(SmtpVerb.Noop, (await c.Transport.ReadCommandAsync(512, ct)).Command.Verb);
        c.Transport.Write(SmtpReply.Ok);

        // RFC 2920 §3.2: the next command is buffered already, so nothing is sent yet.
        Assert.True(c.Transport.WaitForInputAsync(ct).AsTask().IsCompletedSuccessfully);
        await Task.Delay(50, ct);
        Assert.Equal(0, c.Client.Available);

        Assert.Equal(SmtpVerb.Rset, (await c.Transport.ReadCommandAsync(512, ct)).Command.Verb);
        c.Transport.Write(SmtpReply.Ok);
        var wait = c.Transport.WaitForInputAsync(ct).AsTask();
        Assert.Equal("250 2.0.0 OK\r\n250 2.0.0 OK\r\n", await c.ReceiveLinesAsync(2, ct));
        Assert.False(wait.IsCompleted);
        c.Client.Shutdown(SocketShutdown.Send);
        await wait.WaitAsync(TimeSpan.FromSeconds(10), ct);
        Assert.Equal(LineStatus.Closed, (await c.Transport.ReadCommandAsync(512, ct)).Status);
    }

    [Fact]
    public async Task AWaitEndedByTheCommandTimeoutLeavesTheConnectionOpenForTheFinalReply()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var c = await Connection.OpenAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var wait = c.Transport.WaitForInputAsync(timeout.Token).AsTask();
        await Task.Delay(50, ct);
        timeout.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(TimeSpan.FromSeconds(10), ct));

        c.Transport.Write(SmtpReply.IdleTimeout);
        await c.Transport.FlushAsync(ct);
        Assert.StartsWith("421 4.4.2 ", await c.ReceiveLinesAsync(1, ct));
    }
}
