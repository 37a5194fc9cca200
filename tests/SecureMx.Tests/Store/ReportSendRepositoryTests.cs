using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>
/// report_sends: one claim per kind, domain and day wins; a stale claim is taken over; a sent report is
/// never claimed again; a released one is. On the test process's backend (SQLite, or PostgreSQL with
/// SECUREMX_TEST_STORE=postgresql).
/// </summary>
public sealed class ReportSendRepositoryTests : IDisposable
{
    private static readonly DateTimeOffset Day = new(2026, 12, 4, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Now = Day.AddDays(1).AddMinutes(20);
    private readonly TestStore _store = new();
    private readonly ReportSendRepository _sends;

    public ReportSendRepositoryTests() => _sends = new ReportSendRepository(_store.Database);

    public void Dispose() => _store.Dispose();

    [Fact]
    public void OfTwoNodesClaimingTheSameReportExactlyOneWins()
    {
        Assert.True(_sends.TryClaim("tlsrpt", "example.org", Day, "mx1", Now));
        Assert.False(_sends.TryClaim("tlsrpt", "example.org", Day, "mx2", Now.AddSeconds(1)));
        Assert.Equal("mx1", Assert.Single(_sends.Since("tlsrpt", Day)).Node);
    }

    [Fact]
    public async Task OfManyConcurrentClaimsExactlyOneWins()
    {
        var wins = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => _sends.TryClaim("tlsrpt", "example.org", Day, $"mx{i}", Now))));
        Assert.Equal(1, wins.Count(w => w));
    }

    [Fact]
    public void ClaimsAreSeparatePerKindDomainAndDay()
    {
        Assert.True(_sends.TryClaim("tlsrpt", "example.org", Day, "mx1", Now));
        Assert.True(_sends.TryClaim("tlsrpt", "example.net", Day, "mx1", Now));
        Assert.True(_sends.TryClaim("tlsrpt", "example.org", Day.AddDays(1), "mx1", Now));
        Assert.True(_sends.TryClaim("refused-digest", "example.org", Day, "mx1", Now));
    }

    [Fact]
    public void AStaleClaimIsTakenOverAFreshOneIsNot()
    {
        Assert.True(_sends.TryClaim("tlsrpt", "example.org", Day, "mx1", Now));
        Assert.False(_sends.TryClaim("tlsrpt", "example.org", Day, "mx2", Now + ReportSendRepository.StaleClaim - TimeSpan.FromSeconds(1)));
        Assert.True(_sends.TryClaim("tlsrpt", "example.org", Day, "mx2", Now + ReportSendRepository.StaleClaim + TimeSpan.FromSeconds(1)));
        Assert.Equal("mx2", Assert.Single(_sends.Since("tlsrpt", Day)).Node);
    }

    [Fact]
    public void ASentReportIsNeverClaimedAgainEvenLongAfter()
    {
        Assert.True(_sends.TryClaim("tlsrpt", "example.org", Day, "mx1", Now));
        _sends.MarkSent("tlsrpt", "example.org", Day, Now.AddSeconds(5), "mail queued as X");

        Assert.False(_sends.TryClaim("tlsrpt", "example.org", Day, "mx2", Now.AddDays(3)));
        var row = Assert.Single(_sends.Since("tlsrpt", Day));
        Assert.Equal(Now.AddSeconds(5), row.SentAt);
        Assert.Equal("mail queued as X", row.Result);
    }

    [Fact]
    public void AReleasedClaimMayBeClaimedAgainAtOnceAndKeepsWhyUntilThen()
    {
        Assert.True(_sends.TryClaim("tlsrpt", "example.org", Day, "mx1", Now));
        _sends.Release("tlsrpt", "example.org", Day, "https://r.example.org/: answered 503");
        Assert.Equal("https://r.example.org/: answered 503", Assert.Single(_sends.Since("tlsrpt", Day)).Result);
        Assert.Null(Assert.Single(_sends.Since("tlsrpt", Day)).SentAt);

        Assert.True(_sends.TryClaim("tlsrpt", "example.org", Day, "mx2", Now.AddMinutes(1)));
        Assert.Null(Assert.Single(_sends.Since("tlsrpt", Day)).Result);
    }

    [Fact]
    public void ReleasingASentReportChangesNothing()
    {
        _sends.TryClaim("tlsrpt", "example.org", Day, "mx1", Now);
        _sends.MarkSent("tlsrpt", "example.org", Day, Now, "sent");
        _sends.Release("tlsrpt", "example.org", Day, "late failure");
        Assert.False(_sends.TryClaim("tlsrpt", "example.org", Day, "mx2", Now.AddHours(1)));
        Assert.Equal("sent", Assert.Single(_sends.Since("tlsrpt", Day)).Result);
    }

    [Fact]
    public void AReportMarkedSentThatTheSpoolRefusedIsUnsentAndAnotherNodeClaimsItAtOnce()
    {
        Assert.True(_sends.TryClaim("refused-digest", "example.org", Day, "mx1", Now));
        _sends.MarkSent("refused-digest", "example.org", Day, Now, "queued as X");
        Assert.False(_sends.TryClaim("refused-digest", "example.org", Day, "mx2", Now.AddSeconds(1)));

        _sends.UndoSent("refused-digest", "example.org", Day, "not queued: disk full");

        var row = Assert.Single(_sends.Since("refused-digest", Day));
        Assert.Null(row.SentAt);
        Assert.Equal("not queued: disk full", row.Result);
        Assert.True(_sends.TryClaim("refused-digest", "example.org", Day, "mx2", Now.AddSeconds(2)));
    }
}
