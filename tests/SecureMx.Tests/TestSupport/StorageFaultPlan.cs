using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using SecureMx.Spool;

namespace SecureMx.Tests.TestSupport;

/// <summary>The errors a <see cref="StorageFaultPlan"/> raises, by their Linux errno.</summary>
public enum Errno
{
    EIO = 5,
    ENOSPC = 28,
}

/// <summary>One step as <see cref="DurableFiles"/> reported it to the plan.</summary>
public sealed record SeenStep(DurableStep Step, string Path)
{
    /// <summary>The directory the step acts in: the same for every message (the file names are queue ids).</summary>
    public string Directory => System.IO.Path.GetDirectoryName(Path)!;
}

/// <summary>
/// A fault plan for <see cref="DurableFiles"/>: records every step it is told about, and fails the
/// chosen ones with the exception the kernel and .NET raise — an <see cref="IOException"/> with
/// HResult = errno and .NET's message (see DurableFilesTests, which compares it with a real ENOSPC),
/// or for a commit the <see cref="SqliteException"/> of SQLITE_FULL / SQLITE_IOERR. Each test makes
/// its own plan, so tests running in parallel never see each other's faults.
/// </summary>
public sealed class StorageFaultPlan : IStorageFaultInjector
{
    private const int SQLITE_IOERR = 10;
    private const int SQLITE_FULL = 13;

    private sealed class Rule(DurableStep step, Func<string, bool> path, int nth, bool always, Errno? errno, ManualResetEventSlim? hold)
    {
        public int Matches;
        public bool Done;
        public readonly TaskCompletionSource Reached = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>True when this call is the one to fail (or hold).</summary>
        public bool Fires(DurableStep s, string p)
        {
            if (Done || s != step || !path(p)) return false;
            Matches++;
            if (Matches < nth) return false;
            Done = !always;
            return true;
        }

        public Errno? Errno => errno;
        public ManualResetEventSlim? Hold => hold;
    }

    /// <summary>Every step that writes: what a full disk fails (reads still work on it).</summary>
    public static IReadOnlyList<DurableStep> WriteSteps { get; } = Enum.GetValues<DurableStep>().Where(s => s != DurableStep.QueueRead).ToList();

    private readonly object _gate = new();
    private readonly List<Rule> _rules = new();
    private readonly List<SeenStep> _steps = new();

    /// <summary>Every step reported since the last <see cref="ForgetSteps"/>, in order.</summary>
    public IReadOnlyList<SeenStep> Steps { get { lock (_gate) return _steps.ToList(); } }

    public void ForgetSteps()
    {
        lock (_gate) _steps.Clear();
    }

    /// <summary>Fails the <paramref name="nth"/> call of <paramref name="step"/> (on a path that <paramref name="path"/> accepts) from now on, once.</summary>
    public void Fail(DurableStep step, Errno errno, Func<string, bool>? path = null, int nth = 1)
    {
        lock (_gate) _rules.Add(new Rule(step, path ?? (_ => true), nth, always: false, errno, hold: null));
    }

    /// <summary>Fails every call of <paramref name="step"/> from now on (a disk that stays full).</summary>
    public void FailAlways(DurableStep step, Errno errno, Func<string, bool>? path = null)
    {
        lock (_gate) _rules.Add(new Rule(step, path ?? (_ => true), 1, always: true, errno, hold: null));
    }

    /// <summary>
    /// Holds the next call of <paramref name="step"/> (the thread waits) until the returned release runs;
    /// the task completes when the call has arrived.
    /// </summary>
    public (Task Reached, Action Release) Hold(DurableStep step, Func<string, bool>? path = null) => AddHold(step, path, errno: null);

    /// <summary>As <see cref="Hold"/>, and once released the call fails with <paramref name="errno"/>.</summary>
    public (Task Reached, Action Release) HoldThenFail(DurableStep step, Errno errno, Func<string, bool>? path = null) => AddHold(step, path, errno);

    private (Task Reached, Action Release) AddHold(DurableStep step, Func<string, bool>? path, Errno? errno)
    {
        var gate = new ManualResetEventSlim(false);
        var rule = new Rule(step, path ?? (_ => true), 1, always: false, errno, gate);
        lock (_gate) _rules.Add(rule);
        return (rule.Reached.Task, gate.Set);
    }

    /// <summary>No more faults: the disk has space again.</summary>
    public void Clear()
    {
        lock (_gate) _rules.Clear();
    }

    public void BeforeStep(DurableStep step, string path)
    {
        Rule? fired = null;
        lock (_gate)
        {
            _steps.Add(new SeenStep(step, path));
            foreach (var rule in _rules)
            {
                if (rule.Fires(step, path))
                {
                    fired = rule;
                    break;
                }
            }
        }
        if (fired?.Hold is { } hold)
        {
            fired.Reached.TrySetResult();
            hold.Wait(TimeSpan.FromSeconds(30));
        }
        if (fired?.Errno is { } errno)
        {
            throw ErrorFor(step, errno, path);
        }
    }

    /// <summary>What the system raises for <paramref name="errno"/> at <paramref name="step"/>.</summary>
    public static Exception ErrorFor(DurableStep step, Errno errno, string path)
    {
        if (step is DurableStep.Commit or DurableStep.QueueRead)
        {
            return errno == Errno.ENOSPC
                ? new SqliteException("SQLite Error 13: 'database or disk is full'.", SQLITE_FULL)
                : new SqliteException("SQLite Error 10: 'disk I/O error'.", SQLITE_IOERR);
        }
        // .NET's own shape (Interop.GetExceptionForIoErrno): strerror, the path, and the errno as HResult.
        return new IOException($"{Marshal.GetPInvokeErrorMessage((int)errno)} : '{path}'", (int)errno);
    }
}
