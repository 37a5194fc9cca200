using Microsoft.Extensions.Time.Testing;
using SecureMx.Spool;

namespace SecureMx.Tests.Spool;

public sealed class MessageIdTests
{
    [Fact]
    public void IdIsSixteenCrockfordBase32Characters()
    {
        var id = MessageId.New(TimeProvider.System);
        Assert.Equal(16, id.Length);
        Assert.Matches("^[0-9A-HJKMNP-TV-Z]{16}$", id);
        Assert.True(MessageId.IsValid(id));
    }

    [Theory]
    [InlineData("")]
    [InlineData("0123456789ABCDE")]
    [InlineData("0123456789ABCDEFG")]
    [InlineData("0123456789abcdef")]
    [InlineData("0123456789ABCDEI")]
    [InlineData("0123456789ABCDEL")]
    [InlineData("0123456789ABCDEO")]
    [InlineData("0123456789ABCDEU")]
    [InlineData("../../etc/passwd")]
    [InlineData("0123456789ABCD/F")]
    public void InvalidIdsAreRejected(string id)
    {
        Assert.False(MessageId.IsValid(id));
    }

    [Fact]
    public void IdsSortByTimeOrdinally()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
        var ids = new List<string>();
        for (int i = 0; i < 200; i++)
        {
            ids.Add(MessageId.New(time));
            time.Advance(TimeSpan.FromMilliseconds(1 + i % 3));
        }
        Assert.Equal(ids, ids.Order(StringComparer.Ordinal));
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void TimePrefixIsTheSameWithinOneMillisecond()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var a = MessageId.New(time);
        var b = MessageId.New(time);
        // 48 time bits in the top of 80 bits: the first 9 characters (45 bits) depend on time only.
        Assert.Equal(a[..9], b[..9]);
    }

    [Fact]
    public void IdsAreUniqueInTheSameMillisecond()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
        var ids = Enumerable.Range(0, 100).Select(_ => MessageId.New(time)).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }
}
