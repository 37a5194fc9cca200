using Microsoft.Extensions.Logging;

namespace SecureMx.Spool;

/// <summary>
/// The durable spool: one data file per message in <c>spool/data/</c> and the queue index in
/// <c>spool/queue.db</c>. A message exists once its envelope row is committed; a data file without
/// a row is the remains of an unacknowledged transfer and is removed at start-up.
/// </summary>
public sealed class MessageSpool : IDisposable
{
    public string Root { get; }
    public string DataDirectory { get; }
    public QueueDatabase Queue { get; }
    private readonly TimeProvider _time;

    public MessageSpool(string root, TimeProvider time, ILogger logger)
    {
        Root = root;
        DataDirectory = Path.Combine(root, "data");
        Directory.CreateDirectory(DataDirectory);
        _time = time;
        Queue = new QueueDatabase(Path.Combine(root, "queue.db"), DataDirectory, logger);
    }

    public string DataPath(string id) => Path.Combine(DataDirectory, id);

    /// <summary>Creates the data file for a new message; written sequentially while DATA streams in.</summary>
    public FileStream CreateDataFile(string id) => new(DataPath(id), new FileStreamOptions
    {
        Mode = FileMode.CreateNew,
        Access = FileAccess.Write,
        Share = FileShare.Read,
        BufferSize = 64 * 1024,
        Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
        UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
    });

    public FileStream OpenData(string id) => new(DataPath(id), new FileStreamOptions
    {
        Mode = FileMode.Open, Access = FileAccess.Read, Share = FileShare.Read,
        BufferSize = 64 * 1024, Options = FileOptions.Asynchronous | FileOptions.SequentialScan,
    });

    /// <summary>
    /// Makes the message durable: the data file must already be fsync'd (see <see cref="SpoolFile"/>);
    /// the directory entry and the envelope are committed together with other sessions' messages.
    /// </summary>
    public Task CommitAsync(Envelope envelope) => Queue.InsertAsync(envelope, _time);

    public void DeleteData(string id)
    {
        try { File.Delete(DataPath(id)); } catch (IOException) { }
    }

    /// <summary>Removes data files that have no envelope (transfers cut off before 250).</summary>
    public int RemoveOrphans()
    {
        var known = Queue.AllMessageIds();
        int removed = 0;
        foreach (var file in Directory.EnumerateFiles(DataDirectory))
        {
            var name = Path.GetFileName(file);
            if (!known.Contains(name))
            {
                File.Delete(file);
                removed++;
            }
        }
        return removed;
    }

    public void Dispose() => Queue.Dispose();
}
