using System.Globalization;
using SecureMx.Spool;

namespace SecureMx.Delivery;

/// <summary>
/// Delivers into a Maildir (tmp/ → new/, as in D. J. Bernstein's maildir spec): the file is written
/// and fsync'd in tmp/, renamed into new/, and new/ is fsync'd. After a crash a message is either
/// absent (and will be delivered again) or complete — never partial.
/// </summary>
public sealed class MaildirDelivery(string dataDirectory, string hostname, TimeProvider time)
{
    private static long _counter;
    private static readonly int ProcessId = Environment.ProcessId;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _known = new();
    private readonly CoalescingDirectorySync _directorySync = new();
    private readonly string _uniqueHost = hostname.Replace("/", "\\057", StringComparison.Ordinal).Replace(":", "\\072", StringComparison.Ordinal);

    public static void EnsureMaildir(string path)
    {
        foreach (var sub in new[] { "tmp", "new", "cur" })
        {
            Directory.CreateDirectory(Path.Combine(path, sub), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>Writes trace headers + the spooled message; returns the delivered file's path.</summary>
    public async Task<string> DeliverAsync(string maildirRelative, byte[] traceHeaders, Func<Stream> openMessage, CancellationToken ct)
    {
        var maildir = Path.Combine(dataDirectory, maildirRelative);
        if (!_known.ContainsKey(maildir))
        {
            EnsureMaildir(maildir);
            _known[maildir] = true;
        }
        var now = time.GetUtcNow();
        var n = Interlocked.Increment(ref _counter);
        var baseName = string.Create(CultureInfo.InvariantCulture,
            $"{now.ToUnixTimeSeconds()}.M{now.Millisecond * 1000 + now.Microsecond}P{ProcessId}Q{n}.{_uniqueHost}");
        var tmp = Path.Combine(maildir, "tmp", baseName);
        try
        {
            return await WriteAsync(maildir, tmp, baseName, traceHeaders, openMessage, ct);
        }
        catch (DirectoryNotFoundException)
        {
            _known.TryRemove(maildir, out _); // removed behind our back: recreated on the next attempt
            throw;
        }
    }

    private async Task<string> WriteAsync(string maildir, string tmp, string baseName, byte[] traceHeaders, Func<Stream> openMessage, CancellationToken ct)
    {
        long size;
        await using (var output = new FileStream(tmp, new FileStreamOptions
        {
            // Unbuffered: one write for the trace headers, then the copy's own 64 KiB blocks.
            Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 0,
            Options = FileOptions.Asynchronous, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        {
            try
            {
                await output.WriteAsync(traceHeaders, ct);
                await using (var input = openMessage())
                {
                    await input.CopyToAsync(output, 64 * 1024, ct);
                }
                await output.FlushAsync(ct);
                output.Flush(flushToDisk: true);
                size = output.Length;
            }
            catch
            {
                output.Close();
                File.Delete(tmp);
                throw;
            }
        }
        // S=size lets IMAP servers answer RFC822.SIZE without reading the file.
        var final = Path.Combine(maildir, "new", baseName + ",S=" + size.ToString(CultureInfo.InvariantCulture));
        File.Move(tmp, final);
        // Concurrent deliveries into the same Maildir share one fsync of new/.
        await _directorySync.SyncAsync(Path.Combine(maildir, "new"));
        return final;
    }
}
