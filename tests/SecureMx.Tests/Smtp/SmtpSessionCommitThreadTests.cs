using System.Net;
using System.Text;
using SecureMx.Smtp;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Smtp;

/// <summary>
/// A session whose message commit was the only one resumes on the queue's writer thread (a hand-off to
/// the thread pool less), sends its 250 from there, and leaves the thread before it runs anything else:
/// a command the client pipelined behind the message never runs on the thread every commit needs.
/// </summary>
public sealed class SmtpSessionCommitThreadTests
{
    /// <summary>
    /// A client connection that hands the session its turns one at a time: the first at once, each next one
    /// a moment after the session has written something (a client waiting for the reply). Records the
    /// thread of every write.
    /// </summary>
    private sealed class TurnByTurnConnection(params string[] turns) : Stream
    {
        private readonly Queue<byte[]> _turns = new(turns.Select(t => Encoding.ASCII.GetBytes(t)));
        private readonly object _lock = new();
        private readonly List<(string? Thread, string Text)> _writes = [];
        private byte[] _current = [];
        private int _offset;
        private TaskCompletionSource _released = NewRelease(completed: true);

        public IReadOnlyList<(string? Thread, string Text)> Writes { get { lock (_lock) return _writes.ToList(); } }

        private static TaskCompletionSource NewRelease(bool completed)
        {
            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (completed) tcs.SetResult();
            return tcs;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_offset == _current.Length)
            {
                Task released;
                lock (_lock) released = _released.Task;
                await released.WaitAsync(cancellationToken);
                lock (_lock)
                {
                    if (!_turns.TryDequeue(out var next)) return 0; // the client is done: end of stream
                    _current = next;
                    _offset = 0;
                    _released = NewRelease(completed: false);
                }
            }
            if (buffer.Length == 0) return 0; // the session's wait for input: bytes are there
            int n = Math.Min(buffer.Length, _current.Length - _offset);
            _current.AsSpan(_offset, n).CopyTo(buffer.Span);
            _offset += n;
            return n;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            TaskCompletionSource release;
            lock (_lock)
            {
                _writes.Add((Thread.CurrentThread.Name, Encoding.ASCII.GetString(buffer.Span)));
                release = _released;
            }
            // The client's next turn arrives a moment later, as over a network: the session's next read waits for it.
            _ = Task.Delay(50, CancellationToken.None).ContinueWith(_ => release.TrySetResult(), TaskScheduler.Default);
            return ValueTask.CompletedTask;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
        public override void Flush() { }
        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private const string Message = "Subject: commit thread\r\n\r\nhello\r\n.\r\n";

    private static async Task<IReadOnlyList<(string? Thread, string Text)>> RunAsync(params string[] turns)
    {
        await using var server = await SmtpTestServer.StartAsync();
        var connection = new TurnByTurnConnection(turns);
        var session = new SmtpSession(server.Context, ListenerSettings.Mx(TlsProfile.Opportunistic), connection,
            new IPEndPoint(IPAddress.Loopback, 40025), CancellationToken.None, CancellationToken.None);
        await session.RunAsync().WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Single(server.Spool.Queue.AllMessageIds());
        return connection.Writes;
    }

    [Fact]
    public async Task TheReplyToALoneCommitIsSentFromTheQueueWriterThread()
    {
        var writes = await RunAsync("EHLO client.test\r\n", "MAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n", Message, "QUIT\r\n");

        var queued = Assert.Single(writes, w => w.Text.Contains("queued as", StringComparison.Ordinal));
        Assert.Equal("queue-writer", queued.Thread);
        Assert.Contains(writes, w => w.Text.StartsWith("221 ", StringComparison.Ordinal) && w.Thread != "queue-writer");
    }

    [Fact]
    public async Task ACommandPipelinedBehindTheMessageRunsOffTheQueueWriterThread()
    {
        var writes = await RunAsync("EHLO client.test\r\n", "MAIL FROM:<a@remote.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n",
            Message + "NOOP\r\nQUIT\r\n");

        Assert.Contains(writes, w => w.Text.Contains("queued as", StringComparison.Ordinal) && w.Text.Contains("221 ", StringComparison.Ordinal));
        Assert.All(writes, w => Assert.NotEqual("queue-writer", w.Thread));
    }
}
