using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Spool;

/// <summary>A queued message's data read more than once by one delivery (header, then each host).</summary>
public sealed class SpooledMessageDataTests : IDisposable
{
    private readonly TestSpool _test = new(new DateTimeOffset(2026, 12, 6, 7, 0, 0, TimeSpan.Zero));
    private MessageSpool Spool => _test.Spool;

    public void Dispose() => _test.Dispose();

    private async Task<(string Id, byte[] Content)> QueueAsync(int size)
    {
        var content = new byte[size];
        new Random(size).NextBytes(content);
        var envelope = new Envelope(MessageId.New(_test.Time), _test.Time.GetUtcNow(), "sender@remote.example", size,
            new MailParameters(null, BodyType.EightBitMime, false, DsnReturn.Full, null),
            new ClientTrace("mx", "192.0.2.7", "client.remote.example", "ESMTP", null, null),
            [new("bob@example.net", "bob@example.net", RecipientRoute.Remote, null, DsnNotify.Unspecified, null, null)]);
        await _test.AcceptAsync(envelope, content);
        return (envelope.Id, content);
    }

    private static byte[] ReadAll(Stream stream)
    {
        using (stream)
        using (var copy = new MemoryStream())
        {
            stream.CopyTo(copy);
            return copy.ToArray();
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4096)]
    [InlineData(256 * 1024)]
    public async Task AMessageInTheQueueDatabaseIsReadFromItOnceAndEveryStreamStartsAtItsFirstByte(int size)
    {
        var (id, content) = await QueueAsync(size);
        using var data = new SpooledMessageData(Spool, id);
        var first = data.Open();
        first.ReadExactly(new byte[Math.Min(size, 100)]); // a header read that stops early
        first.Dispose();

        // Gone from the queue: what the delivery reads next is the copy it took, not a second open.
        await Spool.RemoveAsync(id);
        Assert.Throws<FileNotFoundException>(() => Spool.OpenData(id));
        Assert.Equal(content, ReadAll(data.Open()));
        Assert.Equal(content, ReadAll(data.Open()));
        Assert.False(data.Open().CanWrite);
    }

    [Fact]
    public async Task ALargeMessageIsOpenedFromItsDataFileForEachReadAndNeverHeldInMemory()
    {
        var (id, content) = await QueueAsync(256 * 1024 + 1);
        Assert.True(File.Exists(Spool.DataPath(id)));
        using var data = new SpooledMessageData(Spool, id);
        var first = data.Open();
        Assert.IsType<FileStream>(first);
        Assert.Equal(content, ReadAll(first));
        Assert.Equal(content, ReadAll(data.Open()));

        await Spool.RemoveAsync(id);
        Assert.Throws<FileNotFoundException>(() => data.Open());
    }

    [Fact]
    public async Task AMessageNoLongerQueuedFailsAsTheSpoolDoesAndIsNotTriedFromMemory()
    {
        var (id, _) = await QueueAsync(4096);
        await Spool.RemoveAsync(id);
        using var data = new SpooledMessageData(Spool, id);
        Assert.Throws<FileNotFoundException>(() => data.Open());
        Assert.Throws<FileNotFoundException>(() => data.Open());
    }

    [Fact]
    public async Task NothingIsHandedOutAfterTheDeliveryIsDone()
    {
        var (id, _) = await QueueAsync(4096);
        var data = new SpooledMessageData(Spool, id);
        data.Open().Dispose();
        data.Dispose();
        data.Dispose();
        Assert.Throws<ObjectDisposedException>(() => data.Open());
    }
}
