using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Config;
using SecureMx.Delivery.Remote;
using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Tests.Queue;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Delivery.Remote;

/// <summary>
/// Which failures suspend a destination (<see cref="UnreachableDestinations"/>): only a host that could not be
/// reached at all — refused, silent before its greeting; not one that answered and then deferred, nor one that
/// failed a TLS requirement. A delivery that goes through ends a suspension. The period and its bounds.
/// </summary>
public sealed class UnreachableDestinationsTests
{

    private static RemoteDelivery Remote(int port, int timeoutSeconds = 10)
    {
        var options = new SecureMxOptions { Hostname = "sender.test" };
        options.Delivery.SmtpPort = port;
        options.Delivery.ConnectTimeoutSeconds = timeoutSeconds;
        options.Delivery.TransactionTimeoutSeconds = timeoutSeconds;
        var dns = new FakeMailDns(TimeProvider.System, (domain, _) => MxResolution.FromRecords(domain, [("mx.example.org", 10)], DnsSecurity.Insecure, new Random(1)));
        return new RemoteDelivery(dns, options, NullLogger.Instance, PkixTrust.SystemOnly);
    }

    private static Task<RemoteOutcome> DeliverAsync(RemoteDelivery remote, OutboundTlsLevel level = OutboundTlsLevel.May) => RemoteTestMessage.DeliverAsync(remote, level);

    [Fact]
    public async Task EveryAddressRefusingSuspendsTheDestinationWithTheReasonTheHostsGave()
    {
        var remote = Remote(LoopbackPort.Closed());

        var outcome = await DeliverAsync(remote);

        Assert.Equal(RecipientState.Deferred, outcome.State);
        var suspended = remote.Unreachable.Find("EXAMPLE.org");
        Assert.NotNull(suspended);
        Assert.Equal(outcome.Text, suspended.Reason);
        Assert.StartsWith("mx.example.org[127.0.0.1]: ", suspended.Reason);
    }

    [Fact]
    public async Task AHostSilentBeforeItsGreetingCountsAsUnreachable()
    {
        await using var peer = new ScriptedSmtpPeer(PeerStall.Greeting);
        var remote = Remote(peer.Endpoint.Port, timeoutSeconds: 1);

        var outcome = await DeliverAsync(remote);

        Assert.Equal(RecipientState.Deferred, outcome.State);
        Assert.NotNull(remote.Unreachable.Find("example.org"));
    }

    [Fact]
    public async Task AHostThatAnswersAndThenDefersTheTransactionDoesNotSuspendTheDestination()
    {
        await using var peer = new ScriptedSmtpPeer(messagesPerConnection: -1); // 451 to every MAIL
        var remote = Remote(peer.Endpoint.Port);

        var outcome = await DeliverAsync(remote);

        Assert.Equal(RecipientState.Deferred, outcome.State);
        Assert.Null(remote.Unreachable.Find("example.org"));
    }

    [Fact]
    public async Task AHostThatFailsTheTlsRequirementDoesNotSuspendTheDestination()
    {
        await using var peer = new ScriptedSmtpPeer(); // no STARTTLS
        var remote = Remote(peer.Endpoint.Port);

        var outcome = await DeliverAsync(remote, OutboundTlsLevel.Encrypt);

        Assert.Equal((RecipientState.Deferred, OutcomeReason.TlsRequirement), (outcome.State, outcome.Reason));
        Assert.Null(remote.Unreachable.Find("example.org"));
    }

    [Fact]
    public async Task ADeliveryThatGoesThroughEndsTheSuspension()
    {
        await using var peer = new ScriptedSmtpPeer();
        var remote = Remote(peer.Endpoint.Port);
        remote.Unreachable.Suspend("example.org", "mx.example.org[127.0.0.1]: Connection refused");

        var outcome = await DeliverAsync(remote);

        Assert.Equal(RecipientState.Delivered, outcome.State);
        Assert.Null(remote.Unreachable.Find("example.org"));
    }

    [Fact]
    public void ASuspensionEndsAfterItsPeriodAndClearEndsEveryOne()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var unreachable = new UnreachableDestinations(TimeSpan.FromSeconds(60), time);
        unreachable.Suspend("a.test", "down");
        unreachable.Suspend("b.test", "down");

        time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(("down", DateTimeOffset.UnixEpoch + TimeSpan.FromSeconds(60)), (unreachable.Find("a.test")!.Reason, unreachable.Find("a.test")!.Until));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(unreachable.Find("a.test"));

        unreachable.Suspend("a.test", "down again");
        unreachable.Clear();
        Assert.Null(unreachable.Find("a.test"));
        Assert.Null(unreachable.Find("b.test"));
    }

    [Fact]
    public void APeriodOfZeroSuspendsNothing()
    {
        var unreachable = new UnreachableDestinations(TimeSpan.Zero, TimeProvider.System);
        unreachable.Suspend("a.test", "down");
        Assert.False(unreachable.Enabled);
        Assert.Null(unreachable.Find("a.test"));
    }

    [Theory]
    [InlineData(60, "5m,10m,20m,40m", 60)]
    [InlineData(60, "2s,4s", 2)]
    [InlineData(600, " 5m , 10m", 300)]
    [InlineData(0, "5m", 0)]
    public void ThePeriodIsTheConfiguredOneButNeverLongerThanTheFirstRetryStep(int seconds, string schedule, int expected)
    {
        var options = new SecureMxOptions();
        options.Delivery.UnreachableSuspendSeconds = seconds;
        options.Queue.RetrySchedule = schedule;
        Assert.Equal(TimeSpan.FromSeconds(expected), UnreachableDestinations.PeriodFor(options));
    }
}
