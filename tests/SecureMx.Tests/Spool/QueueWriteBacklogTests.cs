using SecureMx.Spool;

namespace SecureMx.Tests.Spool;

public class QueueWriteBacklogTests
{
    [Fact]
    public void TakeBatch_takes_everything_queued_up_to_the_limit_in_order()
    {
        var backlog = new QueueWriteBacklog<int>();
        for (int i = 0; i < 5; i++) Assert.True(backlog.TryAdd(i));
        var batch = new List<int>();
        Assert.True(backlog.TakeBatch(batch, 3));
        Assert.Equal([0, 1, 2], batch);
        batch.Clear();
        Assert.True(backlog.TakeBatch(batch, 3));
        Assert.Equal([3, 4], batch);
    }

    [Fact]
    public async Task A_waiting_writer_wakes_for_the_first_item()
    {
        var backlog = new QueueWriteBacklog<int>();
        var batch = new List<int>();
        var writer = Task.Factory.StartNew(() => backlog.TakeBatch(batch, 10), TaskCreationOptions.LongRunning);
        await Task.Delay(50);
        Assert.False(writer.IsCompleted);
        backlog.TryAdd(7);
        Assert.True(await writer.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal([7], batch);
    }

    [Fact]
    public async Task Complete_refuses_new_items_but_the_writer_still_drains_the_queued_ones_then_ends()
    {
        var backlog = new QueueWriteBacklog<int>();
        backlog.TryAdd(1);
        backlog.Complete();
        Assert.False(backlog.TryAdd(2));
        Assert.False(backlog.IsCompleted);
        var batch = new List<int>();
        Assert.True(backlog.TakeBatch(batch, 10));
        Assert.Equal([1], batch);
        Assert.True(backlog.IsCompleted);
        Assert.False(backlog.TakeBatch(batch, 10));

        // A writer asleep on an empty backlog ends when it is completed.
        var idle = new QueueWriteBacklog<int>();
        var writer = Task.Factory.StartNew(() => idle.TakeBatch([], 10), TaskCreationOptions.LongRunning);
        await Task.Delay(50);
        idle.Complete();
        Assert.False(await writer.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Items_added_from_many_threads_all_reach_the_writer_once()
    {
        var backlog = new QueueWriteBacklog<int>();
        var seen = new List<int>();
        var writer = Task.Factory.StartNew(() =>
        {
            var batch = new List<int>();
            while (backlog.TakeBatch(batch, 64))
            {
                seen.AddRange(batch);
                batch.Clear();
            }
        }, TaskCreationOptions.LongRunning);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (int i = 0; i < 1000; i++) backlog.TryAdd(t * 1000 + i);
        })));
        backlog.Complete();
        await writer.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(Enumerable.Range(0, 8000), seen.Order());
    }
}
