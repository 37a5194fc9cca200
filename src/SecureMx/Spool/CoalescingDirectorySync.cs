using System.Collections.Concurrent;

namespace SecureMx.Spool;

/// <summary>
/// Group commit for directory fsyncs: callers that need the same directory synced share one
/// fsync(2). A caller that arrives while a sync is already running waits for the next one, because
/// the running sync may have started before the caller's rename — the next sync covers everyone
/// who asked while it was queued. A failed fsync fails every waiter of its round: after a failed
/// fsync(2) a later one may succeed without the earlier entries being on the disk, so no waiter of
/// the failed round may take a later round's success for its own.
/// <para>
/// A writer may also <see cref="Announce"/> its file before the file's own fsync: a round asked for
/// meanwhile then waits until the files announced before it have their entries (or were given up),
/// and one fsync covers them all. Concurrent Maildir deliveries seldom asked at the same moment
/// (0.86 directory fsyncs per message at 20 sessions, issue 18), but they are mostly in their file's
/// fsync together. The wait is bounded: a round waits only for the files announced before it was
/// asked for, each one fsync and a rename away from its entry, never for later ones.
/// </para>
/// </summary>
public sealed class CoalescingDirectorySync(DurableFiles? files = null)
{
    private readonly DurableFiles _files = files ?? DurableFiles.Default;

    internal sealed class DirectoryRounds(string path)
    {
        public readonly string Path = path;
        public readonly object Gate = new();
        public bool Running;
        /// <summary>Announcements so far; an announcement's number is its place in this count.</summary>
        public long Announced;
        /// <summary>Announced files without their entry yet (and not given up).</summary>
        public int InFlight;
        /// <summary>The round that has not begun: its waiters, the last announcement it waits for, how many of those are still in flight.</summary>
        public TaskCompletionSource? Next;
        public long NextWaitsUpTo;
        public int NextAwaited;
    }

    /// <summary>
    /// A file on its way into a directory, announced before its fsync. Its entry made, the writer passes it
    /// to <see cref="SyncAsync(Arrival)"/>; a writer that gives up disposes it (always dispose it:
    /// a round waits for it until then).
    /// </summary>
    public sealed class Arrival : IDisposable
    {
        private readonly CoalescingDirectorySync _owner;

        internal Arrival(CoalescingDirectorySync owner, DirectoryRounds directory, long number)
        {
            _owner = owner;
            Directory = directory;
            Number = number;
        }

        internal DirectoryRounds Directory { get; }
        internal long Number { get; }
        /// <summary>Synced or given up (read and written under the directory's gate).</summary>
        internal bool Settled { get; set; }

        public void Dispose() => _owner.GiveUp(this);
    }

    private readonly ConcurrentDictionary<string, DirectoryRounds> _dirs = new(StringComparer.Ordinal);

    /// <summary>Announces a file that will get an entry in <paramref name="directory"/> soon (call it before the file's fsync).</summary>
    public Arrival Announce(string directory)
    {
        var dir = _dirs.GetOrAdd(directory, static d => new DirectoryRounds(d));
        lock (dir.Gate)
        {
            dir.InFlight++;
            return new Arrival(this, dir, ++dir.Announced);
        }
    }

    /// <summary>
    /// Completes once an fsync of <paramref name="directory"/> that began after this call has ended.
    /// When no sync of it is running, the caller runs it on its own thread and gets a completed task:
    /// a lone delivery is not handed to a pool thread and back (issue 18: two wake-ups and context
    /// switches a message). So call it from a thread that may block — a delivery worker, never a
    /// socket thread. Callers that arrive meanwhile wait for one shared round, run on a pool thread (or
    /// by the last announced file it waited for, <see cref="SyncAsync(Arrival)"/>).
    /// </summary>
    public Task SyncAsync(string directory)
    {
        using var arrival = Announce(directory);
        return SyncAsync(arrival);
    }

    /// <summary>
    /// <paramref name="arrival"/>'s entry is made: completes once an fsync of its directory that began after
    /// this call has ended. As <see cref="SyncAsync(string)"/>; the round may first wait for files announced
    /// before it (see the class), and then the last of them to arrive runs it on its own thread.
    /// </summary>
    public Task SyncAsync(Arrival arrival)
    {
        var dir = arrival.Directory;
        TaskCompletionSource round;
        lock (dir.Gate)
        {
            if (arrival.Settled) throw new InvalidOperationException("This arrival was already synced or given up.");
            Settle(dir, arrival);
            if (dir.Next is null)
            {
                dir.Next = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                dir.NextWaitsUpTo = dir.Announced;
                dir.NextAwaited = dir.InFlight;
            }
            if (dir.Running || !NextIsReady(dir)) return dir.Next.Task;
            round = TakeNext(dir);
        }
        // This caller starts the round: it runs on this thread, and its own answer needs no hand-off.
        var error = SyncOnce(dir, round);
        AfterRound(dir);
        return error is null ? Task.CompletedTask : Task.FromException(error);
    }

    /// <summary>The writer of <paramref name="arrival"/> gave up before its entry (or has synced already: then nothing).</summary>
    private void GiveUp(Arrival arrival)
    {
        var dir = arrival.Directory;
        lock (dir.Gate)
        {
            if (arrival.Settled) return;
            Settle(dir, arrival);
            if (dir.Running || !NextIsReady(dir)) return;
            dir.Running = true; // the round waited for this writer only: it starts now, off this (failing) writer's path
        }
        _ = Task.Run(() => RunRounds(dir));
    }

    private static void Settle(DirectoryRounds dir, Arrival arrival)
    {
        arrival.Settled = true;
        dir.InFlight--;
        if (dir.Next is not null && arrival.Number <= dir.NextWaitsUpTo) dir.NextAwaited--;
    }

    /// <summary>Under the gate: someone waits for the next round, and no file it waits for is still on its way.</summary>
    private static bool NextIsReady(DirectoryRounds dir) => dir.Next is not null && dir.NextAwaited == 0;

    /// <summary>Under the gate: the next round begins; whoever asks from now on needs the one after it.</summary>
    private static TaskCompletionSource TakeNext(DirectoryRounds dir)
    {
        var round = dir.Next!;
        dir.Next = null;
        dir.Running = true;
        return round;
    }

    /// <summary>One fsync for a round: its waiters hear how it went; answers the error (null when it succeeded).</summary>
    private Exception? SyncOnce(DirectoryRounds dir, TaskCompletionSource round)
    {
        try
        {
            _files.SyncDirectory(dir.Path);
            round.SetResult();
            return null;
        }
        catch (Exception ex)
        {
            round.SetException(ex);
            _ = round.Task.Exception; // observed: a round whose runner was its only waiter has no one else to see it
            return ex;
        }
    }

    /// <summary>A round has ended: the next one starts on a pool thread if nothing keeps it waiting, else whoever completes it starts it.</summary>
    private void AfterRound(DirectoryRounds dir)
    {
        lock (dir.Gate)
        {
            if (!NextIsReady(dir))
            {
                dir.Running = false;
                return;
            }
        }
        _ = Task.Run(() => RunRounds(dir));
    }

    /// <summary>Runs rounds while one is ready; entered with <see cref="DirectoryRounds.Running"/> set.</summary>
    private void RunRounds(DirectoryRounds dir)
    {
        while (true)
        {
            TaskCompletionSource round;
            lock (dir.Gate)
            {
                if (!NextIsReady(dir))
                {
                    dir.Running = false;
                    return;
                }
                round = TakeNext(dir);
            }
            SyncOnce(dir, round);
        }
    }
}
