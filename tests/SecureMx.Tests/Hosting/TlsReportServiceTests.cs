using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Config;
using SecureMx.Hosting;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Reporting;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Tests.Reporting;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Hosting;

/// <summary>
/// The daily run: each pass sends the reports of the last two UTC days not sent yet (never today's),
/// remembers domains without a record for the day, and runs on its own clock once started.
/// </summary>
public sealed class TlsReportServiceTests : IDisposable
{
    private static readonly DateTimeOffset Day = new(2026, 12, 4, 0, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Day.AddHours(10));
    private readonly TempDirectory _dir = new();
    private readonly TestStore _store;
    private readonly TlsSessionRepository _sessions;
    private readonly MessageSpool _spool;
    private readonly ReportingDns _dns = new();
    private readonly TlsReportService _service;

    public TlsReportServiceTests()
    {
        _store = new TestStore(_time);
        _sessions = new TlsSessionRepository(_store.Database, _time, NullLogger.Instance);
        _spool = new MessageSpool(Path.Combine(_dir.Path, "spool"), _time, NullLogger.Instance);
        var options = new SecureMxOptions { Hostname = "mx.sender.test" };
        var sender = new TlsReportSender(_dns, _sessions, new ReportSendRepository(_store.Database), new TlsReportPoster(_dns, PkixTrust.SystemOnly, options, _time),
            new MessageAcceptor(_spool, null, _time, NullLogger.Instance), new RecipientRouter(_store.Mailboxes, options.Delivery), options, "mx1", _time, NullLogger.Instance);
        _service = new TlsReportService(sender, _time, NullLogger<TlsReportService>.Instance, firstDelay: TimeSpan.FromMinutes(7));
    }

    public void Dispose()
    {
        _service.Dispose();
        _sessions.Dispose();
        _spool.Dispose();
        _store.Dispose();
        _dir.Dispose();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private void Session(string domain, DateTimeOffset at)
    {
        _sessions.Record(new TlsSessionResult(at, domain, TlsReportPolicyType.NoPolicyFound, [], [], null, "mx." + domain, "192.0.2.5", "192.0.2.1"));
        _sessions.Flush();
    }

    [Fact]
    public async Task APassSendsYesterdaysAndTheDayBeforesReportsButNotTodaysNorOlder()
    {
        foreach (var (domain, at) in new[] { ("today.example", Day.AddHours(1)), ("yesterday.example", Day.AddDays(-1).AddHours(1)),
                     ("before.example", Day.AddDays(-2).AddHours(1)), ("old.example", Day.AddDays(-3).AddHours(1)) })
        {
            Session(domain, at);
            _dns.Txt["_smtp._tls." + domain] = [$"v=TLSRPTv1; rua=mailto:r@{domain}"];
        }

        var results = await _service.RunOnceAsync(Ct);

        Assert.Equal(["before.example", "yesterday.example"], results.Select(r => r.Domain));
        Assert.All(results, r => Assert.Equal(TlsReportSendOutcome.Sent, r.Outcome));
        Assert.Equal(2, _spool.Queue.ListAll().Count);
    }

    [Fact]
    public async Task ADomainWithoutARecordIsLookedUpOncePerDayNotEveryPass()
    {
        Session("quiet.example", Day.AddDays(-1).AddHours(1));

        await _service.RunOnceAsync(Ct);
        _time.Advance(TimeSpan.FromHours(1));
        await _service.RunOnceAsync(Ct);

        Assert.Equal(["_smtp._tls.quiet.example"], _dns.TxtAsked);
    }

    [Fact]
    public async Task AReportThatFailedIsTriedAgainByTheNextPassAndThenNotAgain()
    {
        Session("flaky.example", Day.AddDays(-1).AddHours(1));
        _dns.Txt["_smtp._tls.flaky.example"] = null; // SERVFAIL

        Assert.Equal(TlsReportSendOutcome.Failed, Assert.Single(await _service.RunOnceAsync(Ct)).Outcome);
        _dns.Txt["_smtp._tls.flaky.example"] = ["v=TLSRPTv1; rua=mailto:r@flaky.example"];
        Assert.Equal(TlsReportSendOutcome.Sent, Assert.Single(await _service.RunOnceAsync(Ct)).Outcome);
        Assert.Equal(TlsReportSendOutcome.AlreadyClaimed, Assert.Single(await _service.RunOnceAsync(Ct)).Outcome);
        Assert.Single(_spool.Queue.ListAll());
    }

    [Fact]
    public async Task TheServiceRunsItsFirstPassAfterTheDelayAndThenHourly()
    {
        Session("yesterday.example", Day.AddDays(-1).AddHours(1));
        _dns.Txt["_smtp._tls.yesterday.example"] = null;
        await _service.StartAsync(Ct);
        await Task.Delay(300, Ct); // ExecuteAsync runs on its own task: its first timer is set by then

        _time.Advance(TimeSpan.FromMinutes(7) - TimeSpan.FromSeconds(1));
        await Task.Delay(300, Ct);
        Assert.Empty(_dns.TxtAsked);
        _time.Advance(TimeSpan.FromSeconds(1));
        await WaitForAsync(() => _dns.TxtAsked.Count == 1);
        await Task.Delay(300, Ct); // the pass ends and sets the next timer

        _time.Advance(TlsReportService.Interval - TimeSpan.FromSeconds(1));
        await Task.Delay(300, Ct);
        Assert.Single(_dns.TxtAsked);
        _time.Advance(TimeSpan.FromSeconds(1));
        await WaitForAsync(() => _dns.TxtAsked.Count == 2);
        await _service.StopAsync(Ct);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "timed out");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
