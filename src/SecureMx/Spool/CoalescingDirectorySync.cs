using System.Collections.Concurrent;

namespace SecureMx.Spool;

/// <summary>
/// Group commit for directory fsyncs: callers that need the same directory synced share one
/// fsync(2). A caller that arrives while a sync is already running waits for the next one, because
/// the running sync may have started before the caller's rename — the next sync covers everyone
/// who asked while it was queued. A failed fsync fails every waiter of its round: after a failed
/// fsync(2) a later one may succeed without the earlier entries being on the disk, so no waiter of
/// the failed round may take a later round's success for its own.
/// </summary>
public sealed class CoalescingDirectorySync(DurableFiles? files = null)
{
    private readonly DurableFiles _files = files ?? DurableFiles.Default;

    private sealed class Round
    {
        public readonly object Gate = new();
        public bool Running;
        public TaskCompletionSource? Next;
    }

    private readonly ConcurrentDictionary<string, Round> _dirs = new(StringComparer.Ordinal);

    /// <summary>
    /// Completes once an fsync of <paramref name="directory"/> that began after this call has ended.
    /// When no sync of it is running, the caller runs it on its own thread and gets a completed task:
    /// a lone delivery is not handed to a pool thread and back (issue 18: two wake-ups and context
    /// switches a message). So call it from a thread that may block — a delivery worker, never a
    /// socket thread. Callers that arrive meanwhile wait for one shared round, run on a pool thread.
    /// </summary>
    public Task SyncAsync(string directory)
    {
        var round = _dirs.GetOrAdd(directory, _ => new Round());
        lock (round.Gate)
        {
            if (round.Running)
            {
                round.Next ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return round.Next.Task;
            }
            round.Running = true;
        }
        Task mine;
        try
        {
            _files.SyncDirectory(directory);
            mine = Task.CompletedTask;
        }
        catch (Exception ex)
        {
            mine = Task.FromException(ex);
        }
        lock (round.Gate)
        {
            // Whoever asked during this sync needs the next round.
            if (round.Next is null) round.Running = false;
            else _ = Task.Run(() => RunRounds(directory, round));
        }
        return mine;
    }

    private void RunRounds(string directory, Round round)
    {
        while (true)
        {
            TaskCompletionSource current;
            lock (round.Gate)
            {
                if (round.Next is null)
                {
                    round.Running = false;
                    return;
                }
                current = round.Next;
                round.Next = null; // whoever asks from now on needs the next round
            }
            try
            {
                _files.SyncDirectory(directory);
                current.SetResult();
            }
            catch (Exception ex)
            {
                current.SetException(ex);
            }
        }
    }
}
