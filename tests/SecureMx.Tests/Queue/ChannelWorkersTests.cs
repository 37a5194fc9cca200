using System.Collections.Concurrent;
using System.Threading.Channels;
using SecureMx.Queue;

namespace SecureMx.Tests.Queue;

public sealed class ChannelWorkersTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AnItemWrittenWakesOneOfTheWaitingWorkersNotAll()
    {
        var channel = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = false });
        var reader = new WakeCountingReader<int>(channel.Reader);
        var taken = new ConcurrentBag<int>();
        var workers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            await foreach (var item in reader.TakeEachAsync()) taken.Add(item);
        })).ToList();
        await WaitUntil(() => reader.Waiting == 8);

        Assert.True(channel.Writer.TryWrite(1));
        await WaitUntil(() => !taken.IsEmpty);
        channel.Writer.Complete();
        await Task.WhenAll(workers).WaitAsync(Patience);

        Assert.Equal([1], taken);
        // Woken with something to read: the one that took the item. Waiting with WaitToReadAsync
        // (ReadAllAsync), all eight would have been, seven of them for nothing.
        Assert.Equal(1, reader.WokenForAnItem);
    }

    [Fact]
    public async Task WorkersTakeEveryItemOnceAndEndWhenTheChannelIsCompletedAndDrained()
    {
        var channel = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = false });
        var taken = new ConcurrentBag<int>();
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            await foreach (var item in channel.Reader.TakeEachAsync())
            {
                taken.Add(item);
                await Task.Yield();
            }
        })).ToList();
        for (int i = 0; i < 1000; i++) Assert.True(channel.Writer.TryWrite(i));
        channel.Writer.Complete(); // items still queued are taken before the workers end

        await Task.WhenAll(workers).WaitAsync(Patience);

        Assert.Equal(Enumerable.Range(0, 1000), taken.Order());
    }

    [Fact]
    public async Task AWorkerStartedAfterTheChannelWasCompletedEndsAtOnce()
    {
        var channel = Channel.CreateUnbounded<int>();
        channel.Writer.Complete();
        int count = 0;
        await foreach (var _ in channel.Reader.TakeEachAsync()) count++;
        Assert.Equal(0, count);
    }

    [Fact]
    public async Task AChannelCompletedWithAnErrorEndsTheWorkersWithThatError()
    {
        var channel = Channel.CreateUnbounded<int>();
        Assert.True(channel.Writer.TryWrite(1));
        channel.Writer.Complete(new InvalidDataException("the writer failed"));
        var taken = new List<int>();

        var error = await Assert.ThrowsAsync<ChannelClosedException>(async () =>
        {
            await foreach (var item in channel.Reader.TakeEachAsync()) taken.Add(item);
        });

        Assert.Equal([1], taken);
        Assert.IsType<InvalidDataException>(error.InnerException);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the workers");
            await Task.Delay(5);
        }
    }

    /// <summary>The real channel's reader, counting the workers waiting on it and those woken with an item to read.</summary>
    private sealed class WakeCountingReader<T>(ChannelReader<T> inner) : ChannelReader<T>
    {
        private int _waiting, _woken;
        public int Waiting => Volatile.Read(ref _waiting);
        public int WokenForAnItem => Volatile.Read(ref _woken);

        public override Task Completion => inner.Completion;
        public override bool TryRead(out T item) => inner.TryRead(out item!);

        public override async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _waiting);
            bool more = await inner.WaitToReadAsync(cancellationToken);
            Interlocked.Decrement(ref _waiting);
            if (more) Interlocked.Increment(ref _woken);
            return more;
        }

        public override async ValueTask<T> ReadAsync(CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _waiting);
            try
            {
                var item = await inner.ReadAsync(cancellationToken);
                Interlocked.Increment(ref _woken);
                return item;
            }
            finally
            {
                Interlocked.Decrement(ref _waiting);
            }
        }
    }
}
