using System.Text;
using SecureMx.Delivery.Remote;
using SecureMx.Mail;
using SecureMx.Policy;

namespace SecureMx.Tests.Delivery.Remote;

/// <summary>"TLS-Required: No" (RFC 8689 §3, §4.2.2): finding the field, and when SecureMx honours it.</summary>
public sealed class TlsRequiredHeaderTests
{
    private static bool SaysNo(string message) => TlsRequiredHeader.SaysNo(new MemoryStream(Encoding.UTF8.GetBytes(message)));

    [Theory]
    [InlineData("TLS-Required: No\r\nSubject: x\r\n\r\nbody\r\n")]
    [InlineData("Subject: x\r\ntls-required:no\r\n\r\nbody\r\n")]
    [InlineData("Subject: x\r\nTLS-Required:\r\n  NO \r\n\r\nbody\r\n")]
    [InlineData("Subject: x\nTLS-Required: No\n\nbody\n")]
    public void TheFieldIsFoundInAnyCaseFoldedOrNot(string message) => Assert.True(SaysNo(message));

    [Theory]
    [InlineData("Subject: x\r\n\r\nTLS-Required: No\r\n")] // in the body
    [InlineData("Subject: x\r\nTLS-Required: Yes\r\n\r\nbody\r\n")]
    [InlineData("Subject: x\r\nTLS-Required: No thanks\r\n\r\nbody\r\n")]
    [InlineData("Subject: x\r\nX-TLS-Required: No\r\n\r\nbody\r\n")]
    [InlineData("Subject: TLS-Required: No\r\n\r\nbody\r\n")]
    [InlineData("")]
    public void AnythingElseIsNotTheField(string message) => Assert.False(SaysNo(message));

    [Fact]
    public void AHeaderSectionBeyondTheLimitIsNotSearchedFurther()
    {
        var padding = string.Concat(Enumerable.Repeat("X-Padding: " + new string('a', 1000) + "\r\n", TlsRequiredHeader.MaxHeaderBytes / 1000 + 1));
        Assert.False(SaysNo(padding + "TLS-Required: No\r\n\r\nbody\r\n"));
        Assert.True(SaysNo("TLS-Required: No\r\n" + padding + "\r\nbody\r\n"));
    }

    private const string WithHeader = "From: a@example.test\r\nTLS-Required: No\r\n\r\nbody\r\n";

    private static Envelope Envelope(string? account, bool requireTls = false) => new("X", DateTimeOffset.UtcNow, "a@example.test", 10,
        new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null, requireTls),
        new ClientTrace(account is null ? "mx" : "submission", "192.0.2.1", "c", "ESMTPSA", null, account), []);

    private static readonly TlsPolicySource Default = new(TlsPolicySource.GlobalDefault, OutboundTlsLevel.Dane);

    private static EffectiveTlsPolicy Policy(params TlsPolicySource[] sources) => new(sources.Max(s => s.Level), sources);

    private static TlsRequiredHeader.Decision Decide(Envelope envelope, EffectiveTlsPolicy policy, string message = WithHeader)
    {
        int opened = 0;
        var d = TlsRequiredHeader.Decide(envelope, policy, () => { opened++; return new MemoryStream(Encoding.UTF8.GetBytes(message)); });
        Assert.True(opened <= 1);
        return d;
    }

    [Fact]
    public void HonouredForAnAccountsMessageUnderTheDefaultLevel()
    {
        Assert.Equal(new TlsRequiredHeader.Decision(true, true, null), Decide(Envelope("alice@example.test"), Policy(Default)));
        Assert.Equal(TlsRequiredHeader.Decision.Absent, Decide(Envelope("alice@example.test"), Policy(Default), "Subject: x\r\n\r\nbody\r\n"));
    }

    [Fact]
    public void NeverForMailThatArrivedFromElsewhereNorForARequireTlsMessageAndTheirBytesAreNotRead()
    {
        int opened = 0;
        Stream Open() { opened++; return new MemoryStream(Encoding.UTF8.GetBytes(WithHeader)); }
        Assert.False(TlsRequiredHeader.Decide(Envelope(null), Policy(Default), Open).Honoured);
        Assert.False(TlsRequiredHeader.Decide(Envelope("alice@example.test", requireTls: true), Policy(Default), Open).Honoured);
        Assert.Equal(0, opened);
    }

    [Fact]
    public void ACustomersMandatoryTlsIsNeverLoweredByTheHeader()
    {
        var d = Decide(Envelope("alice@example.test"), Policy(Default, new TlsPolicySource("sender account alice@example.test", OutboundTlsLevel.Encrypt)));
        Assert.Equal((true, false), (d.Present, d.Honoured));
        Assert.Contains("mandatory", d.NotHonoured);
    }

    [Theory]
    [InlineData(OutboundTlsLevel.Dane, false)]
    [InlineData(OutboundTlsLevel.Encrypt, false)]
    [InlineData(OutboundTlsLevel.May, true)]
    public void AnOperatorsDestinationEntryOfDaneOrStricterIsNeverLoweredEither(OutboundTlsLevel entry, bool honoured)
    {
        var destination = new TlsPolicySource("destination example.org", entry);
        var d = Decide(Envelope("alice@example.test"), new EffectiveTlsPolicy(entry, [destination], Default));
        Assert.Equal(honoured, d.Honoured);
    }

    [Fact]
    public void AnOperatorsMandatoryDefaultIsNeverLowered()
    {
        var d = Decide(Envelope("alice@example.test"), Policy(new TlsPolicySource(TlsPolicySource.GlobalDefault, OutboundTlsLevel.Verify)));
        Assert.False(d.Honoured);
    }
}
