using System.Text;
using SecureMx.Hosting;

namespace SecureMx.Tests.Hosting;

/// <summary>The console's log lines, written behind in batches: in order, complete, never dropped, one write per batch.</summary>
public sealed class ConsoleLineWriterTests
{
    /// <summary>An output that records each write; <see cref="Gate"/> closed, writes wait (a pipe nobody reads).</summary>
    private sealed class RecordingOutput : Stream
    {
        private readonly object _lock = new();
        private readonly List<string> _writes = [];

        public ManualResetEventSlim Gate { get; } = new(true);
        public Exception? Fail { get; set; }

        public IReadOnlyList<string> Writes { get { lock (_lock) return _writes.ToList(); } }
        public string Text => string.Concat(Writes);

        public override void Write(byte[] buffer, int offset, int count)
        {
            Gate.Wait(TimeSpan.FromSeconds(30));
            if (Fail is { } fail) throw fail;
            lock (_lock) _writes.Add(Encoding.UTF8.GetString(buffer, offset, count));
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition() && DateTime.UtcNow < deadline) await Task.Delay(5, TestContext.Current.CancellationToken);
        Assert.True(condition());
    }

    [Fact]
    public async Task LinesLoggedWithinTheWindowGoOutInOrderInOneWrite()
    {
        var output = new RecordingOutput();
        using var writer = new ConsoleLineWriter(output, TimeSpan.FromMilliseconds(200));
        var lines = Enumerable.Range(0, 50).Select(i => $"line {i} é\n").ToList();
        foreach (var line in lines) writer.Enqueue(line);

        await WaitForAsync(() => output.Text.Length == string.Concat(lines).Length);

        Assert.Equal(string.Concat(lines), output.Text);
        Assert.Single(output.Writes); // the console logger's own processor: 50 wake-ups, 50 writes
    }

    [Fact]
    public async Task ALineAfterAQuietSpellIsWrittenWithinTheWindow()
    {
        var output = new RecordingOutput();
        using var writer = new ConsoleLineWriter(output, TimeSpan.FromMilliseconds(20));
        writer.Enqueue("first\n");
        await WaitForAsync(() => output.Text == "first\n");
        writer.Enqueue("second\n");
        await WaitForAsync(() => output.Text == "first\nsecond\n");
        Assert.Equal(["first\n", "second\n"], output.Writes);
    }

    [Fact]
    public void DisposeWritesWhatIsStillPendingAndLinesAfterItGoOutAtOnce()
    {
        var output = new RecordingOutput();
        var writer = new ConsoleLineWriter(output, TimeSpan.FromSeconds(10)); // the window would outlast the test
        writer.Enqueue("a\n");
        writer.Enqueue("b\n");

        writer.Dispose();
        Assert.Equal("a\nb\n", output.Text);

        writer.Enqueue("late\n"); // the host's last lines, after the logger was disposed
        Assert.Equal("a\nb\nlate\n", output.Text);
    }

    [Fact]
    public void FlushWritesThePendingLinesOnTheCallersThread()
    {
        var output = new RecordingOutput();
        using var writer = new ConsoleLineWriter(output, TimeSpan.FromSeconds(10));
        writer.Enqueue("before a crash\n");
        writer.Flush();
        Assert.Equal("before a crash\n", output.Text);
    }

    [Fact]
    public async Task AFullBacklogMakesTheLoggerWaitInsteadOfDroppingLines()
    {
        var output = new RecordingOutput();
        output.Gate.Reset(); // the output does not drain
        using var writer = new ConsoleLineWriter(output, TimeSpan.FromMilliseconds(1), maxPendingLines: 3);
        writer.Enqueue("0\n"); // taken by the writer, which now waits in its write
        await Task.Delay(100, TestContext.Current.CancellationToken);
        for (int i = 1; i <= 3; i++) writer.Enqueue($"{i}\n"); // the backlog is full

        var fifth = Task.Run(() => writer.Enqueue("4\n"), TestContext.Current.CancellationToken);
        await Task.Delay(200, TestContext.Current.CancellationToken);
        Assert.False(fifth.IsCompleted); // waiting for room, not dropped

        output.Gate.Set();
        await fifth.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await WaitForAsync(() => output.Text.Length == 10);
        Assert.Equal("0\n1\n2\n3\n4\n", output.Text);
    }

    [Fact]
    public async Task AnOutputThatFailsLosesItsBatchButTheWriterGoesOn()
    {
        var output = new RecordingOutput { Fail = new IOException("Broken pipe") };
        using var writer = new ConsoleLineWriter(output, TimeSpan.FromMilliseconds(1));
        writer.Enqueue("lost\n");
        await Task.Delay(100, TestContext.Current.CancellationToken);

        output.Fail = null;
        writer.Enqueue("kept\n");
        await WaitForAsync(() => output.Text == "kept\n");
    }
}
