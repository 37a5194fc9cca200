using SecureMx.Spool;

namespace SecureMx.Tests.Spool;

/// <summary>A message's bytes in pooled segments: kept in order, all of a write or none of it, every segment reserved and returned.</summary>
public sealed class PooledMessageBufferTests
{
    private static byte[] Joined(PooledMessageBuffer buffer) => buffer.Segments.SelectMany(s => s.ToArray()).ToArray();

    [Fact]
    public void WritesOfAnySizeComeBackInOrderAcrossSegments()
    {
        var budget = new SpoolMemoryBudget(1 << 20);
        using var buffer = new PooledMessageBuffer(budget);
        var content = new byte[130_000];
        Random.Shared.NextBytes(content);
        for (int i = 0, n = 1; i < content.Length; i += n, n = n * 7 % 20011 + 1)
        {
            Assert.True(buffer.TryWrite(content.AsSpan(i, Math.Min(n, content.Length - i)), long.MaxValue));
        }
        Assert.Equal(content.Length, buffer.Length);
        Assert.Equal(content, Joined(buffer));
        Assert.All(buffer.Segments, s => Assert.True(s.Length <= 64 * 1024)); // below the large object heap
        Assert.True(budget.Held >= content.Length);
    }

    [Fact]
    public void AWritePastTheLimitOrTheBudgetWritesNothingOfIt()
    {
        var budget = new SpoolMemoryBudget(8 * 1024);
        using var buffer = new PooledMessageBuffer(budget);
        Assert.True(buffer.TryWrite(new byte[3000], limit: 10_000));
        Assert.False(buffer.TryWrite(new byte[8000], limit: 10_000)); // the limit
        Assert.False(buffer.TryWrite(new byte[7000], limit: long.MaxValue)); // the budget: 8 KiB
        Assert.Equal(3000, buffer.Length);
        Assert.Equal(3000, Joined(buffer).Length);
        Assert.True(budget.Held <= budget.Capacity);
    }

    [Fact]
    public void DisposingReturnsEverySegmentToTheBudgetTwiceOver()
    {
        var budget = new SpoolMemoryBudget(1 << 20);
        var buffer = new PooledMessageBuffer(budget);
        Assert.True(buffer.TryWrite(new byte[100_000], long.MaxValue));
        buffer.Dispose();
        buffer.Dispose();
        Assert.Equal(0, budget.Held);
        Assert.Empty(buffer.Segments);
    }
}
