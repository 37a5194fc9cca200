using System.Net;
using MimeKit;
using Microsoft.Extensions.Time.Testing;
using SecureMx.MailAuth;
using SecureMx.MailAuth.Dkim;
using SecureMx.MailAuth.Dmarc;
using SecureMx.MailAuth.Spf;
using SecureMx.Tests.MailAuth.Dkim;

namespace SecureMx.Tests.MailAuth;

public sealed class InboundAuthenticatorTests
{
    private static readonly IPAddress Client = IPAddress.Parse("192.0.2.25");
    private static readonly PublicSuffixList Suffixes = PublicSuffixList.Parse(["example"]);

    private static InMemoryDns Zone() => new InMemoryDns()
        .Txt("sender.example", "v=spf1 ip4:192.0.2.0/24 -all")
        .Txt("mail.sender.example", "v=spf1 a -all").A("mail.sender.example", "192.0.2.25")
        .Txt("rsa1._domainkey.sender.example", DkimTestSigner.RsaRecord)
        .Txt("_dmarc.sender.example", "v=DMARC1; p=reject")
        .Txt("forger.example", "v=spf1 ip4:198.51.100.0/24 -all");

    private static Stream Bytes(MimeMessage message)
    {
        var ms = new MemoryStream();
        message.WriteTo(FormatOptions.Default, ms);
        ms.Position = 0;
        return ms;
    }

    [Fact]
    public async Task ASignedMessageFromAnAuthorizedHostPassesAllThree()
    {
        var message = DkimTestSigner.Message();
        DkimTestSigner.Sign(message, "sender.example", "rsa1");
        var auth = await new InboundAuthenticator(Zone(), Suffixes, TimeProvider.System)
            .AuthenticateAsync(Client, "mail.sender.example", "bounce@sender.example", Bytes(message), "mx.example.org", TestContext.Current.CancellationToken);
        Assert.Equal("spf=pass dkim=pass dmarc=pass", auth.Summary);
        Assert.Equal(SpfResult.Pass, auth.HeloSpf.Result);
        Assert.Equal(
            "Authentication-Results: mx.example.org;\r\n\tspf=pass smtp.mailfrom=bounce@sender.example;\r\n\tdkim=pass header.d=sender.example header.s=rsa1;\r\n" +
            "\tdmarc=pass (p=reject dis=none) header.from=sender.example\r\n", auth.HeaderField);
    }

    [Fact]
    public async Task AnUnsignedMessageFromAnotherHostFailsDmarcWithReject()
    {
        var auth = await new InboundAuthenticator(Zone(), Suffixes, TimeProvider.System)
            .AuthenticateAsync(IPAddress.Parse("203.0.113.9"), "mail.forger.example", "x@forger.example", Bytes(DkimTestSigner.Message()), "mx.example.org", TestContext.Current.CancellationToken);
        Assert.Equal("spf=fail dkim=none dmarc=fail", auth.Summary);
        Assert.True(auth.DmarcAsksForReject);
    }

    [Fact]
    public async Task ADnsThatNeverAnswersEndsInTemperrorWithinTheBudget()
    {
        var time = new FakeTimeProvider();
        var dns = new HangingDns();
        var message = DkimTestSigner.Message();
        DkimTestSigner.Sign(message, "sender.example", "rsa1");
        var task = new InboundAuthenticator(dns, Suffixes, time, TimeSpan.FromSeconds(10))
            .AuthenticateAsync(Client, "mail.sender.example", "bounce@sender.example", Bytes(message), "mx.example.org", TestContext.Current.CancellationToken);
        await dns.Asked.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        time.Advance(TimeSpan.FromSeconds(10));
        var auth = await task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal("spf=temperror dkim=temperror dmarc=temperror", auth.Summary);
    }

    [Fact]
    public async Task AfterABudgetRanOutTheNextMessagesGetTheShortBudgetUntilDnsAnswersInTimeAgain()
    {
        var time = new FakeTimeProvider();
        var dns = new SwitchableDns(Zone()) { Hanging = true };
        var authenticator = new InboundAuthenticator(dns, Suffixes, time, TimeSpan.FromSeconds(10));
        var ct = TestContext.Current.CancellationToken;
        Task<InboundAuthentication> Authenticate() =>
            authenticator.AuthenticateAsync(Client, "mail.sender.example", "bounce@sender.example", Bytes(DkimTestSigner.Message()), "mx.example.org", ct);

        // The resolver does not answer: the first message waits the whole budget.
        var first = Authenticate();
        await dns.WaitAskedAsync(ct);
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(first.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("spf=temperror dkim=none dmarc=temperror", (await first.WaitAsync(TimeSpan.FromSeconds(10), ct)).Summary);
        Assert.True(authenticator.Degraded);

        // The next one only the short budget.
        var second = Authenticate();
        await dns.WaitAskedAsync(ct);
        time.Advance(InboundAuthenticator.DegradedBudget);
        Assert.Equal("spf=temperror dkim=none dmarc=temperror", (await second.WaitAsync(TimeSpan.FromSeconds(10), ct)).Summary);
        Assert.True(authenticator.Degraded);

        // The resolver answers again: results as before, and the full budget from then on.
        dns.Hanging = false;
        Assert.Equal("spf=pass dkim=none dmarc=pass", (await Authenticate().WaitAsync(TimeSpan.FromSeconds(10), ct)).Summary);
        Assert.False(authenticator.Degraded);
    }

    [Fact]
    public async Task ContentThatIsNotAMessageIsAPermerrorNotACrash()
    {
        var auth = await new InboundAuthenticator(Zone(), Suffixes, TimeProvider.System)
            .AuthenticateAsync(Client, "mail.sender.example", "bounce@sender.example", new MemoryStream([0, 1, 2, 13, 10, 13, 10]), "mx.example.org", TestContext.Current.CancellationToken);
        Assert.Equal(SpfResult.Pass, auth.MailFromSpf.Result);
        Assert.Equal(DmarcResult.PermError, auth.Dmarc.Result);
    }

    [Fact]
    public async Task AHugeAndMalformedHeaderSectionGivesResultsNotACrash()
    {
        var text = "From: alice@sender.example\r\nX-Huge: " + new string('a', 3 * 1024 * 1024) + "\r\n" +
                   "DKIM-Signature: v=1; a=rsa-sha256; d=sender.example; s=rsa1; b=!!!; bh=???\r\n" +
                   "Broken header without colon\r\n\r\nbody\r\n";
        var auth = await new InboundAuthenticator(Zone(), Suffixes, TimeProvider.System)
            .AuthenticateAsync(Client, "mail.sender.example", "bounce@sender.example", new MemoryStream(System.Text.Encoding.ASCII.GetBytes(text)), "mx.example.org", TestContext.Current.CancellationToken);
        Assert.Equal(SpfResult.Pass, auth.MailFromSpf.Result);
        Assert.NotEqual(DkimResult.Pass, Assert.Single(auth.Dkim).Result);
        Assert.Equal(DmarcResult.Pass, auth.Dmarc.Result); // SPF passes aligned
    }

    [Fact]
    public async Task AKeyRecordWithGarbageIsAPermerror()
    {
        var message = DkimTestSigner.Message();
        DkimTestSigner.Sign(message, "sender.example", "junk");
        var dns = Zone().Txt("junk._domainkey.sender.example", "v=DKIM1; k=rsa; p=bm90IGEga2V5");
        var auth = await new InboundAuthenticator(dns, Suffixes, TimeProvider.System)
            .AuthenticateAsync(Client, "mail.sender.example", "bounce@sender.example", Bytes(message), "mx.example.org", TestContext.Current.CancellationToken);
        Assert.Equal(DkimResult.PermError, Assert.Single(auth.Dkim).Result);
    }

    /// <summary>A resolver that never answers: every question waits until it is cancelled.</summary>
    /// <summary>The zone, or (while <see cref="Hanging"/>) a resolver that never answers.</summary>
    private sealed class SwitchableDns(InMemoryDns zone) : SecureMx.Dns.IDnsRecordLookup
    {
        private readonly HangingDns _hanging = new();
        private TaskCompletionSource _asked = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Hanging { get; set; }

        /// <summary>Until a hanging lookup has been asked (then the clock may move).</summary>
        public async Task WaitAskedAsync(CancellationToken ct)
        {
            await _asked.Task.WaitAsync(TimeSpan.FromSeconds(10), ct);
            _asked = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        private Task<SecureMx.Dns.DnsLookup<T>> Pick<T>(Func<SecureMx.Dns.IDnsRecordLookup, Task<SecureMx.Dns.DnsLookup<T>>> ask)
        {
            if (!Hanging) return ask(zone);
            _asked.TrySetResult();
            return ask(_hanging);
        }

        public Task<SecureMx.Dns.DnsLookup<string>> TxtAsync(string name, CancellationToken cancellationToken = default) => Pick(d => d.TxtAsync(name, cancellationToken));
        public Task<SecureMx.Dns.DnsLookup<IPAddress>> AddressesAsync(string name, System.Net.Sockets.AddressFamily family, CancellationToken cancellationToken = default) => Pick(d => d.AddressesAsync(name, family, cancellationToken));
        public Task<SecureMx.Dns.DnsLookup<SecureMx.Dns.MxRecordData>> MxAsync(string name, CancellationToken cancellationToken = default) => Pick(d => d.MxAsync(name, cancellationToken));
        public Task<SecureMx.Dns.DnsLookup<string>> PtrAsync(IPAddress address, CancellationToken cancellationToken = default) => Pick(d => d.PtrAsync(address, cancellationToken));
    }

    private sealed class HangingDns : SecureMx.Dns.IDnsRecordLookup
    {
        public TaskCompletionSource Asked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private async Task<SecureMx.Dns.DnsLookup<T>> Hang<T>(CancellationToken ct)
        {
            Asked.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
            throw new InvalidOperationException();
        }

        public Task<SecureMx.Dns.DnsLookup<string>> TxtAsync(string name, CancellationToken cancellationToken = default) => Hang<string>(cancellationToken);
        public Task<SecureMx.Dns.DnsLookup<IPAddress>> AddressesAsync(string name, System.Net.Sockets.AddressFamily family, CancellationToken cancellationToken = default) => Hang<IPAddress>(cancellationToken);
        public Task<SecureMx.Dns.DnsLookup<SecureMx.Dns.MxRecordData>> MxAsync(string name, CancellationToken cancellationToken = default) => Hang<SecureMx.Dns.MxRecordData>(cancellationToken);
        public Task<SecureMx.Dns.DnsLookup<string>> PtrAsync(IPAddress address, CancellationToken cancellationToken = default) => Hang<string>(cancellationToken);
    }
}
