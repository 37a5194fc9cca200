using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using SecureMx.Mail;

namespace SecureMx.Spool;

/// <summary>
/// The one way a message enters the spool: SMTP DATA and BDAT, <c>securemx sendmail</c> and DSNs. The
/// caller streams the bytes into the <see cref="SpoolFile"/> from <see cref="Open"/>; then
/// <see cref="AcceptAsync"/> checks the size, completes the file (inline or data file), commits
/// envelope and bytes (group commit), disposes the file and tells the arrival sink. Only an
/// <see cref="AcceptResult.Accepted"/> message exists; after any other result nothing of it is left
/// in the spool, so the caller can say "not stored" and nothing acknowledged is lost. Storage
/// failures are logged here, once, with the step and the path ("disk full" when that is the cause).
/// </summary>
public sealed class MessageAcceptor(MessageSpool spool, IMessageArrivalSink? arrivals, TimeProvider time, ILogger log)
{
    /// <summary>A spool file for a new message under a new queue id. Never throws: a file that cannot be created is a <see cref="SpoolFile.Failure"/>.</summary>
    public SpoolFile Open(long maxSize) => new(spool, MessageId.New(time), maxSize);

    /// <summary>
    /// While the message is still arriving: when a step has already failed (the file could not be
    /// created, a write failed), disposes the file, logs, and returns why; null while all is well.
    /// Lets a caller refuse early (before 354, after a BDAT chunk) instead of at the end.
    /// </summary>
    public async ValueTask<StorageFailure?> DiscardIfFailedAsync(SpoolFile file)
    {
        if (file.Failure is not { } failure) return null;
        await file.DisposeAsync().ConfigureAwait(false);
        LogFailure(file.Id, failure);
        return failure;
    }

    /// <summary>
    /// Stores the message <paramref name="file"/> holds under <paramref name="envelope"/> (which must
    /// describe it: same id, same size). Returns when the envelope is committed, or when it is known
    /// that it will not be; the file is disposed either way.
    /// </summary>
    /// <param name="continueOnWriter">
    /// The caller's continuation is short, never blocks, and leaves the thread it runs on before it does more than
    /// answer (an SMTP session). A commit that has no other operation in it then resumes the caller on the
    /// queue's writer thread instead of handing it to the thread pool: one wake-up and two context switches less
    /// per message at low load (<see cref="QueueDatabase"/>).
    /// </param>
    public async Task<AcceptResult> AcceptAsync(SpoolFile file, Envelope envelope, bool continueOnWriter = false)
    {
        if (envelope.Id != file.Id || envelope.Size != file.Length)
            throw new ArgumentException($"the envelope ({envelope.Id}, {envelope.Size} bytes) does not describe spool file {file.Id} ({file.Length} bytes)", nameof(envelope));
        StorageFailure? failure;
        await using (file.ConfigureAwait(false))
        {
            if (file.TooBig) return AcceptResult.TooBig.Instance;
            failure = file.Failure ?? await StoreAsync(file, envelope, continueOnWriter).ConfigureAwait(false);
        }
        // Disposed: an uncommitted file is gone, a committed one closed before the queue opens it for delivery.
        if (failure is not null)
        {
            LogFailure(envelope.Id, failure);
            return new AcceptResult.StorageFailed(failure);
        }
        arrivals?.MessageArrived(envelope.Id);
        return new AcceptResult.Accepted(envelope.Id);
    }

    private async Task<StorageFailure?> StoreAsync(SpoolFile file, Envelope envelope, bool continueOnWriter)
    {
        try
        {
            await file.CompleteAsync().ConfigureAwait(false);
            await spool.CommitAsync(envelope, file, continueOnWriter).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or SqliteException or ObjectDisposedException)
        {
            // ObjectDisposedException: the queue is shutting down.
            return StorageFailure.From(ex, DurableStep.Commit, spool.Queue.DatabasePath);
        }
        file.MarkCommitted();
        return null;
    }

    private void LogFailure(string id, StorageFailure failure)
    {
        if (failure.DiskFull)
        {
            // No stack trace: on a full disk this repeats for every transfer, and the cause is known.
            log.LogError("{Id}: disk full: {Step} of {Path} failed ({Error}); message not accepted, nothing of it kept",
                id, failure.Step, failure.Path, failure.Error.Message);
        }
        else
        {
            log.LogError(failure.Error, "{Id}: storage failed: {Step} of {Path} failed ({Error}); message not accepted, nothing of it kept",
                id, failure.Step, failure.Path, failure.Error.Message);
        }
    }
}
