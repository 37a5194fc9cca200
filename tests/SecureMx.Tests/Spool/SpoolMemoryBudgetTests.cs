using SecureMx.Spool;

namespace SecureMx.Tests.Spool;

/// <summary>The cap on memory held by messages in flight, under concurrent reservations.</summary>
public sealed class SpoolMemoryBudgetTests
{
    [Fact]
    public void AReservationPastTheCapIsRefusedAndReservesNothing()
    {
        var budget = new SpoolMemoryBudget(10_000);
        Assert.True(budget.TryReserve(6000));
        Assert.False(budget.TryReserve(6000));
        Assert.Equal(6000, budget.Held);
        budget.Release(6000);
        Assert.True(budget.TryReserve(10_000));
    }

    [Fact]
    public async Task ConcurrentReservationsNeverHoldMoreThanTheCap()
    {
        var budget = new SpoolMemoryBudget(64 * 1024);
        long granted = 0, peak = 0; // what was actually handed out (Held may briefly count a refused reservation)
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < 20_000; i++)
            {
                if (!budget.TryReserve(4096)) continue;
                InterlockedMax(ref peak, Interlocked.Add(ref granted, 4096));
                Interlocked.Add(ref granted, -4096);
                budget.Release(4096);
            }
        }, TestContext.Current.CancellationToken)));
        Assert.True(peak <= budget.Capacity, $"peak {peak}");
        Assert.Equal(0, budget.Held);
    }

    private static void InterlockedMax(ref long target, long value)
    {
        for (long seen = Interlocked.Read(ref target); value > seen; seen = Interlocked.Read(ref target))
        {
            if (Interlocked.CompareExchange(ref target, value, seen) == seen) return;
        }
    }
}
