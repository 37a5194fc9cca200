using Microsoft.Extensions.Time.Testing;
using SecureMx.Spool;

namespace SecureMx.Tests.Spool;

/// <summary>Queue ids with a node number and a per-process sequence: unique within a node, across nodes, and when the clock stands still or steps back.</summary>
public sealed class MessageIdGeneratorTests
{
    private static readonly DateTimeOffset Noon = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void AMillionIdsFromOneNodeInOneMillisecondAreDistinctValidAndAscending()
    {
        var generator = new MessageIdGenerator(7);
        var time = new FakeTimeProvider(Noon); // the clock never moves: only the sequence tells the ids apart
        var ids = new HashSet<string>(1_000_000, StringComparer.Ordinal);
        string previous = "";
        for (int i = 0; i < 1_000_000; i++)
        {
            var id = generator.Next(time);
            Assert.True(string.CompareOrdinal(id, previous) > 0, $"id {i} does not sort after the one before");
            previous = id;
            Assert.True(ids.Add(id), $"id {i} repeated");
        }
        Assert.All(ids.Take(100), id => Assert.True(MessageId.IsValid(id)));
        Assert.All(ids.Take(100), id => Assert.Equal(7, MessageIdGenerator.NodeOf(id)));
    }

    [Fact]
    public void MoreIdsInOneHeldMillisecondThanTheSequenceHoldsBorrowTheNextMillisecondInsteadOfRepeating()
    {
        var generator = new MessageIdGenerator(1);
        var time = new FakeTimeProvider(Noon);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < (1 << 22) + 10; i++) Assert.True(ids.Add(generator.Next(time)));
    }

    [Fact]
    public void IdsFromTwoNodeNumbersInTheSameMillisecondDiffer()
    {
        var time = new FakeTimeProvider(Noon);
        var a = new MessageIdGenerator(1);
        var b = new MessageIdGenerator(2);
        var fromA = Enumerable.Range(0, 10_000).Select(_ => a.Next(time)).ToHashSet(StringComparer.Ordinal);
        var fromB = Enumerable.Range(0, 10_000).Select(_ => b.Next(time)).ToList();
        Assert.DoesNotContain(fromB, fromA.Contains);
        Assert.Equal(1, MessageIdGenerator.NodeOf(fromA.First()));
        Assert.Equal(2, MessageIdGenerator.NodeOf(fromB[0]));
        // Same millisecond: the first 9 characters (45 of the 48 time bits) are the same on both nodes.
        Assert.Equal(fromA.First()[..9], fromB[0][..9]);
    }

    [Fact]
    public void AClockThatStepsBackKeepsTheIdsAscendingAndDistinct()
    {
        var generator = new MessageIdGenerator(3);
        var time = new SettableTime { Now = Noon };
        var before = Enumerable.Range(0, 100).Select(_ => generator.Next(time)).ToList();
        time.Now = Noon.AddMinutes(-10); // NTP stepped the clock back
        var after = Enumerable.Range(0, 100).Select(_ => generator.Next(time)).ToList();
        var all = before.Concat(after).ToList();
        Assert.Equal(all, all.Order(StringComparer.Ordinal));
        Assert.Equal(all.Count, all.Distinct().Count());
    }

    private sealed class SettableTime : TimeProvider
    {
        public DateTimeOffset Now { get; set; }

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void TheHighestNodeNumberFitsAndOneMoreIsRefused()
    {
        var time = new FakeTimeProvider(Noon);
        Assert.Equal(1023, MessageIdGenerator.NodeOf(new MessageIdGenerator(1023).Next(time)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MessageIdGenerator(1024));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MessageIdGenerator(-1));
    }

    [Fact]
    public void IdsOfTheFormerRandomFormStayValid()
    {
        // 48 bits of milliseconds then 32 random bits, as queued before node numbers.
        Assert.True(MessageId.IsValid("01JGR3ZK4W7Q2XMB"));
    }
}
