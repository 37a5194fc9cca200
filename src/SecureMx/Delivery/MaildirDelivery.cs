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
        EnsureMaildir(maildir);
        var now = time.GetUtcNow();
        var n = Interlocked.Increment(ref _counter);
        var baseName = string.Create(CultureInfo.InvariantCulture,
            $"{now.ToUnixTimeSeconds()}.M{now.Millisecond * 1000 + now.Microsecond}P{Environment.ProcessId}Q{n}.{_uniqueHost}");
        var tmp = Path.Combine(maildir, "tmp", baseName);
        long size;
        await using (var output = new FileStream(tmp, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 64 * 1024,
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
        SafeIo.FsyncDirectory(Path.Combine(maildir, "new"));
        return final;
    }
}
