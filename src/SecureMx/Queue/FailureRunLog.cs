using Microsoft.Extensions.Logging;

namespace SecureMx.Queue;

/// <summary>
/// Logs a run of identical failures (same exception type, error code and message) without flooding
/// the log: the first with its stack trace, every further one as a short line that counts them, and
/// the first success after a run once as "recovered". On a full disk a failure repeats at every
/// retry; its stack trace says nothing new the second time.
/// </summary>
internal sealed class FailureRunLog(ILogger log, string what)
{
    private readonly Lock _lock = new();
    private string? _run; // the failure the current run repeats
    private int _count;

    /// <summary>Failures in the current run (0 after a success).</summary>
    public int Count
    {
        get { lock (_lock) return _count; }
    }

    /// <summary>
    /// One failure: logged with <paramref name="error"/>'s stack trace when it starts a run, else with
    /// its position in the run. <paramref name="template"/> and <paramref name="args"/> are the line.
    /// </summary>
    public void Failed(Exception error, string template, params object?[] args)
    {
        var key = Key(error);
        int count;
        lock (_lock)
        {
            if (_run != key)
            {
                _run = key;
                _count = 0;
            }
            count = ++_count;
        }
        if (count == 1) log.LogError(error, template, args);
        else log.LogError(template + " (failure {Count} in a row, same error)", [.. args, count]);
    }

    /// <summary>A success: after a run of failures, one line says so.</summary>
    public void Succeeded()
    {
        int count;
        lock (_lock)
        {
            count = _count;
            _run = null;
            _count = 0;
        }
        if (count > 0) log.LogInformation("{What} recovered after {Count} failure(s)", what, count);
    }

    private static string Key(Exception error)
    {
        var inner = error;
        while (inner.InnerException is not null) inner = inner.InnerException;
        var code = inner is System.Data.Common.DbException db ? db.ErrorCode : inner.HResult;
        return $"{error.GetType().FullName}/{inner.GetType().FullName}/{code}/{inner.Message}";
    }
}
