using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Policy;

/// <summary>Which RCPT TO addresses are ours, and that no address trick turns into relay.</summary>
public sealed class InboundRecipientPolicyTests : IDisposable
{
    private readonly TestStore _store = new TestStore().WithExampleData();
    private readonly DeliveryOptions _options = new();
    private static readonly RcptParameters NoParams = new(DsnNotify.Unspecified, null, null);

    public void Dispose() => _store.Dispose();

    private InboundRecipientPolicy Policy => new(new RecipientRouter(_store.Mailboxes, _options));

    private RcptDecision Evaluate(string path, bool allowUtf8 = false, RcptParameters? parameters = null)
    {
        var err = SmtpAddressParser.TryParsePath(path, allowNull: false, allowUtf8, out var rcpt, out var rest);
        Assert.Equal(SmtpAddressParser.Error.None, err);
        Assert.Equal("", rest);
        return Policy.Evaluate(rcpt, false, parameters ?? NoParams, rcpt.ToString());
    }

    private static void AssertReply(RcptDecision d, int code, string enhanced)
    {
        Assert.Equal(code, d.Reply.Code);
        Assert.Equal(enhanced, d.Reply.Enhanced?.ToString());
        Assert.Equal(code is >= 200 and < 300, d.Accepted);
        if (!d.Accepted) Assert.Empty(d.Recipients);
    }

    [Fact]
    public void HostedMailboxIsAccepted()
    {
        var d = Evaluate("<alice@example.org>");
        AssertReply(d, 250, "2.1.5");
        var r = Assert.Single(d.Recipients);
        Assert.Equal("alice@example.org", r.Address);
        Assert.Equal(Path.Combine("mail", "example.org", "alice"), r.Maildir);
        Assert.Equal(RecipientRoute.Local, r.Route);
        Assert.Equal("alice@example.org", r.OriginalAddress);
    }

    [Fact]
    public void UnknownUserOfHostedDomainIs550_5_1_1()
    {
        AssertReply(Evaluate("<nobody@example.org>"), 550, "5.1.1");
    }

    [Fact]
    public void EachRefusalNamesItsReasonForTheMetricsAndAnAcceptanceNone()
    {
        Assert.Equal("relay", Evaluate("<someone@gmail.example>").Refusal);
        Assert.Equal("unknown_recipient", Evaluate("<nobody@example.org>").Refusal);
        Assert.Null(Evaluate("<alice@example.org>").Refusal);
        _store.Policies.SetInboundTls("example.org", InboundTlsSetting.Mandatory, "test");
        Assert.Equal("mandatory_tls", Evaluate("<alice@example.org>").Refusal);
    }

    [Fact]
    public void NonHostedDomainIsRelayDenied554_5_7_1()
    {
        AssertReply(Evaluate("<someone@gmail.example>"), 554, "5.7.1");
    }

    [Theory]
    [InlineData("<alice%other.org@example.org>")]
    [InlineData("<alice%gmail.example@example.org>")]
    [InlineData("<gmail.example!alice@example.org>")]
    [InlineData("<\"alice@gmail.example\"@example.org>")]
    [InlineData("<\"alice@example.org\"@example.org>")]
    [InlineData("<@example.org:alice@gmail.example>")]
    [InlineData("<alice@[127.0.0.1]>")]
    [InlineData("<postmaster@[127.0.0.1]>")]
    [InlineData("<alice@[IPv6:::1]>")]
    [InlineData("<alice@example.org.evil.test>")]
    [InlineData("<alice@evil-example.org>")]
    [InlineData("<alice@xexample.org>")]
    [InlineData("<alice@sub.example.org>")]
    [InlineData("<alice@org>")]
    public void OpenRelayTricksAreRefused(string path)
    {
        var d = Evaluate(path);
        Assert.False(d.Accepted, $"{path} was accepted: {d.Reply}");
        Assert.True(d.Reply.IsPermanent);
        Assert.Empty(d.Recipients);
        Assert.True(d.Reply.Code is 550 or 554, d.Reply.ToString());
    }

    [Fact]
    public void AddressLiteralIsRelayDeniedEvenForPostmaster()
    {
        AssertReply(Evaluate("<postmaster@[127.0.0.1]>"), 554, "5.7.1");
    }

    [Fact]
    public void SourceRouteToForeignDomainIsRelayDenied()
    {
        // The route is dropped by the parser; what is left is a foreign mailbox.
        AssertReply(Evaluate("<@example.org:alice@gmail.example>"), 554, "5.7.1");
    }

    [Fact]
    public void SubaddressGoesToTheMailbox()
    {
        var d = Evaluate("<alice+newsletter@example.org>");
        AssertReply(d, 250, "2.1.5");
        var r = Assert.Single(d.Recipients);
        Assert.Equal("alice@example.org", r.Address);
        Assert.Equal("alice+newsletter@example.org", r.OriginalAddress);
    }

    [Fact]
    public void SubaddressOfUnknownUserIsUnknown()
    {
        AssertReply(Evaluate("<nobody+tag@example.org>"), 550, "5.1.1");
    }

    [Fact]
    public void LeadingDelimiterIsNotASubaddress()
    {
        AssertReply(Evaluate("<+alice@example.org>"), 550, "5.1.1");
    }

    [Fact]
    public void SubaddressesAreOffWhenDelimiterIsEmpty()
    {
        _options.RecipientDelimiter = "";
        AssertReply(Evaluate("<alice+tag@example.org>"), 550, "5.1.1");
    }

    [Fact]
    public void PostmasterOfHostedDomainIsAcceptedWithoutMailbox()
    {
        var d = Evaluate("<postmaster@example.org>");
        AssertReply(d, 250, "2.1.5");
        var r = Assert.Single(d.Recipients);
        Assert.Equal(RecipientRouter.InstancePostmasterMaildir, r.Maildir);
    }

    [Fact]
    public void PostmasterIsCaseInsensitive()
    {
        AssertReply(Evaluate("<PostMaster@EXAMPLE.org>"), 250, "2.1.5");
    }

    [Fact]
    public void PostmasterOfForeignDomainIsRelayDenied()
    {
        AssertReply(Evaluate("<postmaster@gmail.example>"), 554, "5.7.1");
    }

    [Fact]
    public void BarePostmasterIsAccepted()
    {
        var d = Policy.Evaluate(EnvelopeAddress.Null, true, NoParams, "postmaster");
        AssertReply(d, 250, "2.1.5");
        Assert.Equal(RecipientRouter.InstancePostmasterMaildir, Assert.Single(d.Recipients).Maildir);
    }

    [Fact]
    public void ConfiguredPostmasterMailboxReceivesPostmasterMail()
    {
        _options.Postmaster = "Bob@example.org";
        var d = Evaluate("<postmaster@other.test>");
        AssertReply(d, 250, "2.1.5");
        Assert.Equal("bob@example.org", Assert.Single(d.Recipients).Address);
    }

    [Fact]
    public void AliasExpandsToItsTargetsMaildirs()
    {
        var d = Evaluate("<sales@example.org>");
        AssertReply(d, 250, "2.1.5");
        Assert.Equal(["alice@example.org", "bob@example.org"], d.Recipients.Select(r => r.Address).Order());
        Assert.All(d.Recipients, r => Assert.Equal("sales@example.org", r.OriginalAddress));
        Assert.Contains(d.Recipients, r => r.Maildir == Path.Combine("mail", "example.org", "bob"));
    }

    [Fact]
    public void SubaddressOfAliasExpandsTheAlias()
    {
        var d = Evaluate("<info+web@example.org>");
        AssertReply(d, 250, "2.1.5");
        Assert.Equal("alice@example.org", Assert.Single(d.Recipients).Address);
    }

    [Theory]
    [InlineData("<ALICE@example.org>")]
    [InlineData("<alice@EXAMPLE.ORG>")]
    [InlineData("<AlIcE@ExAmPlE.oRg>")]
    [InlineData("<\"Alice\"@Example.Org>")]
    [InlineData("<SALES@example.org>")]
    public void LocalPartAndDomainAreCaseInsensitive(string path)
    {
        var d = Evaluate(path);
        AssertReply(d, 250, "2.1.5");
        Assert.Contains(d.Recipients, r => r.Address == "alice@example.org");
    }

    [Fact]
    public void SecondHostedDomainIsSeparate()
    {
        AssertReply(Evaluate("<carol@other.test>"), 250, "2.1.5");
        AssertReply(Evaluate("<carol@example.org>"), 550, "5.1.1");
        AssertReply(Evaluate("<alice@other.test>"), 550, "5.1.1");
    }

    [Fact]
    public void DsnParametersAreCopiedToEveryExpandedRecipient()
    {
        var p = new RcptParameters(DsnNotify.Success | DsnNotify.Failure, "rfc822", "sales@example.org");
        var d = Evaluate("<sales@example.org>", parameters: p);
        Assert.Equal(2, d.Recipients.Count);
        Assert.All(d.Recipients, r =>
        {
            Assert.Equal(DsnNotify.Success | DsnNotify.Failure, r.Notify);
            Assert.Equal("rfc822", r.OrcptType);
            Assert.Equal("sales@example.org", r.Orcpt);
        });
    }

    [Fact]
    public void StoreChangesApplyAtOnce()
    {
        AssertReply(Evaluate("<dave@example.org>"), 550, "5.1.1");
        _store.Mailboxes.AddMailbox("dave", "example.org", "x");
        AssertReply(Evaluate("<dave@example.org>"), 250, "2.1.5");
    }

    [Fact]
    public void IdnDomainMatchesItsALabel()
    {
        _store.Mailboxes.AddDomain("xn--bcher-kva.example");
        _store.Mailboxes.AddMailbox("info", "xn--bcher-kva.example", "x");
        AssertReply(Evaluate("<info@bücher.example>", allowUtf8: true), 250, "2.1.5");
        AssertReply(Evaluate("<info@XN--BCHER-KVA.example>"), 250, "2.1.5");
    }
}

/// <summary>
/// The TLS report address (tlsReporting.reportAddress, RFC 8460 §3): routed to the report reader even without a mailbox of
/// that name and instead of one, accepted in plaintext by a domain with mandatory inbound TLS (RFC 8460 §5.3: reports are
/// delivered despite TLS failures) while its mailboxes are not, and a SIZE= above maxReportBytes refused at RCPT (552 5.3.4).
/// </summary>
public sealed class TlsReportRecipientTests : IDisposable
{
    private readonly TestStore _store = new TestStore().WithExampleData();
    private readonly TlsReportingOptions _reporting = new();
    private static readonly RcptParameters NoParams = new(DsnNotify.Unspecified, null, null);

    public void Dispose() => _store.Dispose();

    private RcptDecision Evaluate(string address, long? size = null)
    {
        Assert.Equal(SmtpAddressParser.Error.None, SmtpAddressParser.TryParsePath($"<{address}>", false, false, out var rcpt, out _));
        return new InboundRecipientPolicy(new RecipientRouter(_store.Mailboxes, new DeliveryOptions(), _reporting))
            .Evaluate(rcpt, false, NoParams, rcpt.ToString(), declaredSize: size);
    }

    [Fact]
    public void TheReportAddressOfAHostedDomainGoesToTheReaderWithoutAMailbox()
    {
        var d = Evaluate("TLSRPT@example.org");
        Assert.Equal(250, d.Reply.Code);
        var r = Assert.Single(d.Recipients);
        Assert.Equal(("tlsrpt@example.org", TlsReportAddress.Target, RecipientRoute.Local), (r.Address, r.Maildir, r.Route));
        Assert.Equal("relay", Evaluate("tlsrpt@elsewhere.example").Refusal);
    }

    [Fact]
    public void TheReportAddressWinsOverAMailboxOfTheSameName()
    {
        _store.Mailboxes.AddMailbox("tlsrpt", "example.org", "x");
        Assert.Equal(TlsReportAddress.Target, Assert.Single(Evaluate("tlsrpt@example.org").Recipients).Maildir);
    }

    [Fact]
    public void AFixedReportAddressServesOnlyItselfAndOtherDomainsTlsrptIsAnUnknownUser()
    {
        _reporting.ReportAddress = "reports@other.test";
        Assert.Equal(TlsReportAddress.Target, Assert.Single(Evaluate("reports@other.test").Recipients).Maildir);
        Assert.Equal("unknown_recipient", Evaluate("tlsrpt@example.org").Refusal);
        Assert.Null(TlsReportAddress.AddressedDomain(_reporting, "reports@other.test"));
        Assert.Equal("example.org", TlsReportAddress.AddressedDomain(new TlsReportingOptions(), "tlsrpt@example.org"));
    }

    [Fact]
    public void MandatoryInboundTlsDoesNotRefuseTheReportAddressInPlaintextButStillRefusesMailboxes()
    {
        _store.Policies.SetInboundTls("example.org", InboundTlsSetting.Mandatory, "test");
        Assert.Equal(250, Evaluate("tlsrpt@example.org").Reply.Code);
        Assert.Equal("mandatory_tls", Evaluate("alice@example.org").Refusal);
    }

    [Fact]
    public void ASizeAboveMaxReportBytesIsRefusedAtRcptForTheReportAddressOnly()
    {
        var d = Evaluate("tlsrpt@example.org", _reporting.MaxReportBytes + 1);
        Assert.Equal((552, "5.3.4", "tls_report_size"), (d.Reply.Code, d.Reply.Enhanced?.ToString(), d.Refusal));
        Assert.Equal(250, Evaluate("tlsrpt@example.org", _reporting.MaxReportBytes).Reply.Code);
        Assert.Equal(250, Evaluate("alice@example.org", _reporting.MaxReportBytes + 1).Reply.Code);
    }
}
