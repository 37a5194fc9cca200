using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace SecureMx.Smtp;

/// <summary>
/// What a listener logs while <c>accept(2)</c> fails (out of descriptors, EMFILE or ENFILE, or of kernel memory):
/// one error when it starts, a count at most once a <see cref="SummaryInterval"/> while it goes on, and one line
/// when connections have been accepted again for a <see cref="QuietPeriod"/> without a failure. Short of
/// descriptors, accepts succeed now and then as sessions end, so a single success is not the end of it: a log
/// that started over at each would print the error again every few connections. No stack trace: the socket
/// error says it all. Used by one accept loop, one call at a time.
/// </summary>
public sealed class AcceptFailureLog(ILogger log, TimeProvider time, string listener)
{
    /// <summary>Accepts without a failure for this long end an episode.</summary>
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromSeconds(10);

    /// <summary>While failures go on, at most one line per this interval counts them.</summary>
    public static readonly TimeSpan SummaryInterval = TimeSpan.FromMinutes(1);

    private DateTimeOffset? _since;   // the episode's first failure; null: accepting works
    private DateTimeOffset _lastFailure;
    private DateTimeOffset _lastSummary;
    private long _failures;           // in the episode
    private long _sinceSummary;       // failures not yet counted in a line

    /// <summary>One failed accept; <paramref name="retryIn"/> is the wait before the next one.</summary>
    public void Failed(SocketException error, TimeSpan retryIn)
    {
        var now = time.GetUtcNow();
        _failures++;
        _lastFailure = now;
        if (_since is null)
        {
            _since = now;
            _lastSummary = now;
            _sinceSummary = 0;
            log.LogError("accepting connections on the {Listener} listener fails: {Error} ({Code}); new connections wait unanswered in the kernel's queue "
                + "until descriptors are free again; retrying after {Delay} ms, at most every {Max} s", listener, Describe(error), error.SocketErrorCode,
                (int)retryIn.TotalMilliseconds, (int)SmtpListener.LastAcceptBackOff.TotalSeconds);
            return;
        }
        _sinceSummary++;
        if (now - _lastSummary >= SummaryInterval)
        {
            log.LogError("accepting connections on the {Listener} listener still fails: {Count} more failure(s) in the last {Seconds} s ({Error})",
                listener, _sinceSummary, (int)(now - _lastSummary).TotalSeconds, Describe(error));
            _lastSummary = now;
            _sinceSummary = 0;
        }
    }

    /// <summary>One accepted connection: ends an episode whose last failure is a <see cref="QuietPeriod"/> old.</summary>
    public void Accepted()
    {
        if (_since is not { } since) return;
        var now = time.GetUtcNow();
        if (now - _lastFailure < QuietPeriod) return;
        log.LogInformation("accepting connections on the {Listener} listener works again: {Count} failed accept(s) from {Since:O} to {Last:O}",
            listener, _failures, since, _lastFailure);
        _since = null;
        _failures = 0;
    }

    /// <summary>
    /// .NET maps EMFILE and ENFILE to one socket error, whose message is ENFILE's ("in system") even when the
    /// process's own limit was reached — the likelier case, and the one an operator can raise.
    /// </summary>
    private static string Describe(SocketException error) => error.SocketErrorCode == SocketError.TooManyOpenSockets
        ? "out of file descriptors (the open-file limit, EMFILE, or the system's, ENFILE)"
        : error.Message;

    /// <summary>An episode is going on: failures within the last <see cref="QuietPeriod"/>, or none accepted since.</summary>
    public bool Failing => _since is not null;
}
