using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Auth;
using SecureMx.Config;
using SecureMx.Telemetry;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Auth;

/// <summary>
/// securemx.auth.login_failures: every failed and every throttled login counted by service (smtp,
/// dashboard, imap, pop3, other) and result (failed, blocked); a protocol name from a request never
/// becomes a series of its own.
/// </summary>
public sealed class AccountAuthenticatorMetricsTests : IDisposable
{
    private readonly TestStore _store = new();
    private readonly MeterListener _listener = new();
    private readonly List<(string? Service, string? Result)> _seen = new();
    private readonly string _user = "u" + Guid.NewGuid().ToString("N")[..8] + "@example.org";

    public AccountAuthenticatorMetricsTests()
    {
        _store.Mailboxes.AddDomain("example.org");
        // By name: an instrument is published while SecureMxMetrics is still being initialised, before its field is set.
        _listener.InstrumentPublished = (i, l) => { if (i.Meter.Name == SecureMxMetrics.MeterName && i.Name == "securemx.auth.login_failures") l.EnableMeasurementEvents(i); };
        _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            string? service = null, result = null;
            foreach (var t in tags)
            {
                if (t.Key == "service") service = t.Value as string;
                if (t.Key == "result") result = t.Value as string;
            }
            lock (_seen) _seen.Add((service, result));
        });
        _listener.Start();
    }

    public void Dispose()
    {
        _listener.Dispose();
        _store.Dispose();
    }

    private int Count(string service, string result)
    {
        lock (_seen) return _seen.Count(s => s.Service == service && s.Result == result);
    }

    [Fact]
    public async Task FailedAndBlockedLoginsAreCountedByServiceAndResult()
    {
        // One failure per account before it is blocked; other tests count in parallel, so compare before and after.
        var auth = new AccountAuthenticator(_store.Mailboxes, new AuthOptions { FailureDelay = "0s", MaxFailuresPerAccount = 1 }, TimeProvider.System, NullLogger.Instance);
        var (smtpFailed, smtpBlocked, dashFailed) = (Count("smtp", "failed"), Count("smtp", "blocked"), Count("dashboard", "failed"));

        Assert.Equal(LoginResult.Failed, (await auth.LoginAsync(_user, "wrong", "192.0.2.77", "PLAIN", default)).Result);
        Assert.Equal(LoginResult.Blocked, (await auth.LoginAsync(_user, "wrong", "192.0.2.77", "LOGIN", default)).Result);
        Assert.Equal(LoginResult.Failed, (await auth.LoginAsync("other-" + _user, "wrong", "192.0.2.78", "dashboard", default)).Result);

        Assert.True(Count("smtp", "failed") > smtpFailed);
        Assert.True(Count("smtp", "blocked") > smtpBlocked);
        Assert.True(Count("dashboard", "failed") > dashFailed);
    }

    [Fact]
    public void DovecotLoginsCountUnderAFixedSetOfServiceNames()
    {
        var auth = new AccountAuthenticator(_store.Mailboxes, new AuthOptions { FailureDelay = "0s" }, TimeProvider.System, NullLogger.Instance);
        var (imap, other) = (Count("imap", "failed"), Count("other", "failed"));
        auth.RecordExternalLogin(_user, "192.0.2.79", "IMAP", success: false);
        auth.RecordExternalLogin(_user, "192.0.2.79", "x-made-up-\u2603", success: false);
        Assert.True(Count("imap", "failed") > imap);
        Assert.True(Count("other", "failed") > other);
        lock (_seen) Assert.DoesNotContain(_seen, s => s.Service is not ("smtp" or "dashboard" or "imap" or "pop3" or "other"));
    }
}
