using System.Buffers;
using System.Globalization;
using SecureMx.Config;
using SecureMx.Spool;

namespace SecureMx.Delivery;

/// <summary>
/// Delivers into a Maildir (tmp/ → new/, as in D. J. Bernstein's maildir spec): the file is written
/// and fsync'd in tmp/, renamed into new/, and new/ is fsync'd; every step goes through
/// <see cref="DurableFiles"/>. Where the file system has O_TMPFILE (and no mode or group is configured)
/// the file is written unnamed instead and linked into new/ (<see cref="MaildirUnnamedFile"/>): fewer
/// directory changes per message, same guarantees; the link is the step <see cref="DurableStep.Rename"/>. After a crash a message is either absent (and will be delivered again)
/// or complete — never partial. A failed step throws (an <see cref="IOException"/>: the queue defers
/// the recipient) and leaves nothing behind: not the file in tmp/, and not the file in new/ when the
/// fsync of new/ failed — its entry is not known durable, and the retry delivers it again, so keeping
/// it would make two copies. Files and directories get the mode and group of <paramref name="access"/>
/// (delivery.mailFileMode, delivery.mailGroup; default 0600/0700 and the process's group).
/// </summary>
public sealed class MaildirDelivery(string dataDirectory, string hostname, TimeProvider time, DurableFiles? files = null, MailFileAccess? access = null)
{
    private readonly MailFileAccess _access = access ?? MailFileAccess.Default;
    private static long _counter;
    private static readonly int ProcessId = Environment.ProcessId;
    private readonly DurableFiles _files = files ?? DurableFiles.Default;
    // Maildirs made and synced by this process; the value: whether their file system has O_TMPFILE.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _known = new();
    private readonly CoalescingDirectorySync _directorySync = new(files);
    private readonly string _uniqueHost = hostname.Replace("/", "\\057", StringComparison.Ordinal).Replace(":", "\\072", StringComparison.Ordinal);

    /// <summary>Whether to try unnamed files (O_TMPFILE) first; off, every delivery goes by tmp/ + rename (tests pin both).</summary>
    internal bool UnnamedFiles { get; init; } = MaildirUnnamedFile.Available;

    public static void EnsureMaildir(string path) => EnsureMaildir(Path.GetDirectoryName(path)!, path, MailFileAccess.Default);

    /// <summary>
    /// Creates <paramref name="maildir"/> (under <paramref name="dataDirectory"/>) with tmp/, new/, cur/, and
    /// gives them <paramref name="access"/>. With a mode or group configured the directories are made and
    /// changed one at a time without following links (<see cref="MailFilePermissions.ApplyToMaildir"/>):
    /// a group that may write a Maildir could plant one.
    /// </summary>
    public static void EnsureMaildir(string dataDirectory, string maildir, MailFileAccess access)
    {
        if (access != MailFileAccess.Default)
        {
            MailFilePermissions.ApplyToMaildir(dataDirectory, maildir, access);
            return;
        }
        foreach (var sub in new[] { "tmp", "new", "cur" })
        {
            Directory.CreateDirectory(Path.Combine(maildir, sub), access.DirectoryMode);
        }
    }

    /// <summary>Writes trace headers + the spooled message; returns the delivered file's path.</summary>
    public async Task<string> DeliverAsync(string maildirRelative, byte[] traceHeaders, Func<Stream> openMessage, CancellationToken ct)
    {
        var maildir = Path.Combine(dataDirectory, maildirRelative);
        if (!_known.TryGetValue(maildir, out var unnamed))
        {
            EnsureMaildir(dataDirectory, maildir, _access);
            SyncMaildirEntries(maildir);
            _known[maildir] = unnamed = UnnamedFiles;
        }
        var now = time.GetUtcNow();
        var n = Interlocked.Increment(ref _counter);
        var baseName = string.Create(CultureInfo.InvariantCulture,
            $"{now.ToUnixTimeSeconds()}.M{now.Millisecond * 1000 + now.Microsecond}P{ProcessId}Q{n}.{_uniqueHost}");
        if (_access != MailFileAccess.Default)
        {
            try
            {
                return WriteThroughDescriptors(maildir, baseName, traceHeaders, openMessage, ct);
            }
            catch (IOException)
            {
                _known.TryRemove(maildir, out _); // missing or replaced: walked, made and checked again on the next attempt
                throw;
            }
        }
        var tmp = Path.Combine(maildir, "tmp", baseName);
        try
        {
            if (unnamed)
            {
                if (await WriteUnnamedAsync(maildir, baseName, traceHeaders, openMessage, ct) is { } delivered) return delivered;
                _known[maildir] = false; // no O_TMPFILE on this file system: tmp/ + rename from now on
            }
            return await WriteAsync(maildir, tmp, baseName, traceHeaders, openMessage, ct);
        }
        catch (DurableStepException ex) when (ex.InnerException is DirectoryNotFoundException)
        {
            _known.TryRemove(maildir, out _); // removed behind our back: recreated on the next attempt
            throw;
        }
    }

    /// <summary>
    /// The delivery when a mail group may write the Maildir (a mode or group configured): a member can
    /// swap tmp/ or new/ for a symbolic link at any time, so every delivery walks to them again without
    /// following links (<see cref="MailFilePermissions.OpenMaildir"/>) and creates (openat, O_EXCL|O_NOFOLLOW),
    /// renames (renameat), fsyncs and removes only through their descriptors. Same order as
    /// <see cref="WriteAsync"/>: the file fsync'd before the rename, new/ fsync'd before success; the steps
    /// still pass the <see cref="DurableFiles"/> seam. new/ is fsync'd per delivery, not shared: the
    /// shared sync goes by path, and the descriptor of one delivery is not necessarily another's new/.
    /// </summary>
    private string WriteThroughDescriptors(string maildir, string baseName, byte[] traceHeaders, Func<Stream> openMessage, CancellationToken ct)
    {
        using var dirs = MailFilePermissions.OpenMaildir(dataDirectory, maildir);
        var tmp = dirs.TmpPath + "/" + baseName;
        var output = _files.Create(tmp, () => dirs.CreateInTmp(baseName));
        try
        {
            var size = WriteContent(output, tmp, traceHeaders, openMessage, ct);
            var finalName = baseName + ",S=" + size.ToString(CultureInfo.InvariantCulture);
            var final = dirs.NewPath + "/" + finalName;
            _files.Run(DurableStep.Rename, final, () => dirs.MoveToNew(baseName, finalName));
            try
            {
                _files.Run(DurableStep.SyncDirectory, dirs.NewPath, dirs.SyncNew);
            }
            catch
            {
                dirs.TryRemoveFromNew(finalName);
                throw;
            }
            return final;
        }
        catch
        {
            dirs.TryRemoveFromTmp(baseName); // after a successful rename there is nothing under this name: harmless
            throw;
        }
    }

    /// <summary>
    /// The Maildir's own directory entries (tmp/, new/, cur/ in it, it in its parent, the parent in
    /// the domain's folder) made durable once per process: the fsync of new/ after each delivery
    /// makes the message's entry durable, not the path that leads to it.
    /// </summary>
    private void SyncMaildirEntries(string maildir)
    {
        var parent = Path.GetDirectoryName(maildir);
        _files.SyncDirectory(maildir);
        if (parent is null) return;
        _files.SyncDirectory(parent);
        if (Path.GetDirectoryName(parent) is { } grandparent) _files.SyncDirectory(grandparent);
    }

    /// <summary>
    /// The delivery by an unnamed file (O_TMPFILE on new/): written and fsync'd without a name, linked into
    /// new/ under its final name, new/ fsync'd (shared with concurrent deliveries). Null when the file system
    /// has no O_TMPFILE (nothing was created). A failure before the link leaves nothing (the file goes with
    /// its descriptor); after it, the linked name is taken back as in <see cref="WriteAsync"/>.
    /// </summary>
    private async Task<string?> WriteUnnamedAsync(string maildir, string baseName, byte[] traceHeaders, Func<Stream> openMessage, CancellationToken ct)
    {
        var newDir = Path.Combine(maildir, "new");
        // The seam sees the unnamed file under the name it will get (without ,S=): new/BASENAME.
        var pending = Path.Combine(newDir, baseName);
        DurableFile output;
        try
        {
            // Unbuffered, as in WriteAsync: the trace headers and a small message are one write.
            output = _files.Create(pending, () => new FileStream(MaildirUnnamedFile.TryCreate(newDir) ?? throw new NotSupportedException(), FileAccess.Write, bufferSize: 0));
        }
        catch (NotSupportedException)
        {
            return null;
        }
        string final;
        using var arrival = WriteAndLink(output, newDir, pending, baseName, traceHeaders, openMessage, ct, out final);
        try
        {
            await _directorySync.SyncAsync(arrival);
        }
        catch
        {
            _files.TryDelete(final);
            throw;
        }
        return final;
    }

    /// <summary>The unnamed file written, fsync'd and linked under its final name; answers its announcement in new/ (<see cref="CoalescingDirectorySync"/>).</summary>
    private CoalescingDirectorySync.Arrival WriteAndLink(DurableFile output, string newDir, string pending, string baseName, byte[] traceHeaders, Func<Stream> openMessage, CancellationToken ct, out string final)
    {
        CoalescingDirectorySync.Arrival? arrival = null;
        try
        {
            using (output)
            {
                var size = WriteContent(output, pending, traceHeaders, openMessage, announceIn: newDir, dispose: false, ct, out arrival);
                var linked = Path.Combine(newDir, baseName + ",S=" + size.ToString(CultureInfo.InvariantCulture));
                _files.Run(DurableStep.Rename, linked, () => MaildirUnnamedFile.Link(output.Handle, linked));
                final = linked;
            }
            return arrival!;
        }
        catch
        {
            arrival?.Dispose(); // a round that waits for this file must not wait for ever
            throw;
        }
    }

    private async Task<string> WriteAsync(string maildir, string tmp, string baseName, byte[] traceHeaders, Func<Stream> openMessage, CancellationToken ct)
    {
        var output = _files.Create(tmp, new FileStreamOptions
        {
            // Unbuffered: one write for the trace headers, then the copy's own 64 KiB blocks.
            Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None, BufferSize = 0,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        try
        {
            var newDir = Path.Combine(maildir, "new");
            var size = WriteContent(output, tmp, traceHeaders, openMessage, announceIn: newDir, dispose: true, ct, out var announced);
            using var arrival = announced!;
            // S=size lets IMAP servers answer RFC822.SIZE without reading the file.
            var final = Path.Combine(newDir, baseName + ",S=" + size.ToString(CultureInfo.InvariantCulture));
            _files.Rename(tmp, final);
            try
            {
                // Concurrent deliveries into the same Maildir share one fsync of new/.
                await _directorySync.SyncAsync(arrival);
            }
            catch
            {
                _files.TryDelete(final);
                throw;
            }
            return final;
        }
        catch
        {
            _files.TryDelete(tmp); // after a successful rename there is nothing under this name: harmless
            throw;
        }
    }

    /// <summary>
    /// The message into its new file in tmp/: mode and group first (on the handle), the trace headers,
    /// the spooled message, then fsync; answers the size for the final name (S=size). Disposes the file.
    /// </summary>
    private long WriteContent(DurableFile output, string tmp, byte[] traceHeaders, Func<Stream> openMessage, CancellationToken ct, bool dispose = true) =>
        WriteContent(output, tmp, traceHeaders, openMessage, announceIn: null, dispose, ct, out _);

    /// <summary>
    /// As above; with <paramref name="announceIn"/> the file is announced there (<see cref="CoalescingDirectorySync.Announce"/>)
    /// just before its fsync, so that a sync of that directory asked for meanwhile waits for its entry;
    /// <paramref name="arrival"/> is then the writer's to dispose (disposed here when the fsync fails).
    /// </summary>
    private long WriteContent(DurableFile output, string tmp, byte[] traceHeaders, Func<Stream> openMessage, string? announceIn, bool dispose,
        CancellationToken ct, out CoalescingDirectorySync.Arrival? arrival)
    {
        arrival = null;
        try
        {
            try
            {
                MailFilePermissions.ApplyToFile(output.Handle, tmp, _access);
                using (var input = openMessage())
                {
                    Copy(traceHeaders, input, output, ct);
                }
                output.Flush();
                if (announceIn is not null) arrival = _directorySync.Announce(announceIn);
                output.Sync();
                return output.Length;
            }
            finally
            {
                if (dispose) output.Dispose();
            }
        }
        catch
        {
            arrival?.Dispose(); // a round that waits for this file must not wait for ever
            arrival = null;
            throw;
        }
    }

    /// <summary>
    /// The trace headers and then the message, in 64 KiB blocks; the headers share the first block, so that
    /// a small message is one write(2). Synchronous: on Linux an asynchronous file read or write is a
    /// thread-pool work item (the kernel offers no readiness for files), so each would be a hand-off to
    /// another thread only to block there; this runs on a delivery worker, which blocks in the fsync next anyway.
    /// </summary>
    private static void Copy(byte[] traceHeaders, Stream input, DurableFile output, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int filled = 0;
            if (traceHeaders.Length < buffer.Length)
            {
                traceHeaders.CopyTo(buffer, 0);
                filled = traceHeaders.Length;
            }
            else
            {
                output.Write(traceHeaders);
            }
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                int n;
                while (filled < buffer.Length && (n = input.Read(buffer, filled, buffer.Length - filled)) > 0) filled += n;
                if (filled == 0) break;
                output.Write(buffer.AsSpan(0, filled));
                if (filled < buffer.Length) break; // the input ended
                filled = 0;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
