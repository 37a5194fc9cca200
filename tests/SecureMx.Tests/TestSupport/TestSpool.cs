using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Mail;
using SecureMx.Spool;

namespace SecureMx.Tests.TestSupport;

/// <summary>
/// A spool in a directory of its own on a fake clock, for the tests of the spool and the queue database:
/// messages enter it as SMTP's do (received into a <see cref="SpoolFile"/>, completed, committed), and it
/// lets go of SQLite's pooled connections when disposed, so that the directory can go.
/// </summary>
public sealed class TestSpool : IDisposable
{
    private readonly TempDirectory _dir = new();

    public FakeTimeProvider Time { get; }
    public MessageSpool Spool { get; }

    public TestSpool(DateTimeOffset start)
    {
        Time = new FakeTimeProvider(start);
        Spool = new MessageSpool(_dir.Combine("spool"), Time, NullLogger.Instance);
    }

    /// <summary>Receives <paramref name="content"/> for the message <paramref name="id"/> (4 KiB writes) up to its end, not yet committed.</summary>
    public async Task<SpoolFile> ReceiveAsync(string id, byte[] content)
    {
        var file = new SpoolFile(Spool, id, 0);
        for (int i = 0; i < content.Length; i += 4096) file.Write(content.AsSpan(i, Math.Min(4096, content.Length - i)));
        await file.CompleteAsync();
        return file;
    }

    /// <summary>Queues a message: received, committed with <paramref name="envelope"/> (inside the database up to 256 KiB, else a data file).</summary>
    public async Task AcceptAsync(Envelope envelope, byte[] content)
    {
        await using var file = await ReceiveAsync(envelope.Id, content);
        await Spool.CommitAsync(envelope, file);
        file.MarkCommitted();
    }

    public void Dispose()
    {
        using (var c = Spool.Queue.OpenRead()) SqliteConnection.ClearPool(c);
        Spool.Dispose();
        _dir.Dispose();
    }
}
