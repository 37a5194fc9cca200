using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Smtp;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>What an operator reads while a listener cannot accept: one error, counts once a minute, one line when it is over.</summary>
public sealed class AcceptFailureLogTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
    private readonly ListLogger _log = new();
    private static readonly SocketException OutOfDescriptors = new((int)SocketError.TooManyOpenSockets);

    private AcceptFailureLog NewLog() => new(_log, _time, "mx");

    [Fact]
    public void AFailureThatGoesOnIsOneErrorAndThenACountOncePerMinute()
    {
        var failures = NewLog();
        for (int i = 0; i < 150; i++)
        {
            failures.Failed(OutOfDescriptors, TimeSpan.FromSeconds(1));
            _time.Advance(TimeSpan.FromSeconds(1));
        }
        var lines = _log.Lines;
        Assert.StartsWith("Error: accepting connections on the mx listener fails: ", lines[0], StringComparison.Ordinal);
        Assert.Contains("out of file descriptors (the open-file limit, EMFILE, or the system's, ENFILE) (TooManyOpenSockets)", lines[0], StringComparison.Ordinal);
        Assert.Equal(3, lines.Count); // the first, then one count at 60 s and one at 120 s
        Assert.Contains("60 more failure(s) in the last 60 s", lines[1], StringComparison.Ordinal);
        Assert.Contains("60 more failure(s) in the last 60 s", lines[2], StringComparison.Ordinal);
        Assert.True(failures.Failing);
    }

    [Fact]
    public void AnAcceptBetweenFailuresDoesNotEndTheEpisodeNorLogTheErrorAgain()
    {
        var failures = NewLog();
        for (int i = 0; i < 5; i++)
        {
            failures.Failed(OutOfDescriptors, TimeSpan.FromMilliseconds(100));
            _time.Advance(TimeSpan.FromSeconds(2));
            failures.Accepted(); // a session ended and freed a descriptor for one connection
        }
        Assert.Single(_log.Lines);
        Assert.True(failures.Failing);
    }

    [Fact]
    public void AnAcceptTenSecondsAfterTheLastFailureEndsTheEpisodeWithItsCount()
    {
        var failures = NewLog();
        failures.Failed(OutOfDescriptors, TimeSpan.FromMilliseconds(100));
        _time.Advance(TimeSpan.FromSeconds(1));
        failures.Failed(OutOfDescriptors, TimeSpan.FromMilliseconds(200));
        _time.Advance(AcceptFailureLog.QuietPeriod - TimeSpan.FromMilliseconds(1));
        failures.Accepted();
        Assert.True(failures.Failing);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        failures.Accepted();
        Assert.False(failures.Failing);
        Assert.Equal(2, _log.Lines.Count);
        Assert.StartsWith("Information: accepting connections on the mx listener works again: 2 failed accept(s) from 2026-12-06T12:00:00", _log.Lines[1], StringComparison.Ordinal);

        // The next episode starts with its own error line and its own count.
        failures.Failed(OutOfDescriptors, TimeSpan.FromMilliseconds(100));
        Assert.StartsWith("Error: accepting connections on the mx listener fails: ", _log.Lines[2], StringComparison.Ordinal);
        _time.Advance(AcceptFailureLog.QuietPeriod);
        failures.Accepted();
        Assert.Contains("works again: 1 failed accept(s)", _log.Lines[3], StringComparison.Ordinal);
    }

    [Fact]
    public void AcceptsWithoutAnyFailureLogNothing()
    {
        var failures = NewLog();
        for (int i = 0; i < 100; i++) failures.Accepted();
        Assert.Empty(_log.Lines);
        Assert.False(failures.Failing);
    }
}
