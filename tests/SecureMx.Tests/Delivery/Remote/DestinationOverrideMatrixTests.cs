using SecureMx.Config;
using SecureMx.Delivery.Remote;
using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Delivery.Remote;

/// <summary>
/// What one MX host must do, from the store's settings to the host's TLSA answer, as RemoteDelivery
/// composes them: the global default dane; a destination entry none|may|dane|encrypt|verify (or none
/// at all) replacing it; a sender without or with mandatory TLS (which always wins); with and without
/// a DNSSEC-secure usable TLSA RRset (which forces DANE unless the entry is none or may).
/// </summary>
public sealed class DestinationOverrideMatrixTests : IDisposable
{
    private const string Host = "mx.dest.test";

    private static readonly TlsaResolution SecureTlsa =
        TlsaResolution.FromAnswer("_25._tcp." + Host, DnsAnswer<TlsaRecordData>.Found([new TlsaRecordData(3, 1, 1, new byte[32])], DnsSecurity.Secure));

    private static readonly TlsaResolution ServFail =
        TlsaResolution.FromAnswer("_25._tcp." + Host, DnsAnswer<TlsaRecordData>.Fail("SERVFAIL"));

    private readonly TestStore _store = new();
    private readonly OutboundTlsPolicy _policy;

    public DestinationOverrideMatrixTests()
    {
        _store.Mailboxes.AddDomain("example.org");
        _store.Mailboxes.AddMailbox("plain", "example.org", "x");
        _store.Mailboxes.AddMailbox("strict", "example.org", "x");
        _store.Policies.SetMailboxOutboundTls("strict@example.org", OutboundTlsSetting.Mandatory, "test");
        _policy = new OutboundTlsPolicy(_store.Policies, new DeliveryOptions());
    }

    public void Dispose() => _store.Dispose();

    private (HostTlsRequirement? Requirement, string? Unusable) Requirement(string? destination, bool mandatorySender, TlsaResolution? tlsa)
    {
        if (destination is not null)
        {
            Assert.True(OutboundTlsLevels.TryParse(destination, out var entry));
            _store.Policies.SetDestinationTls("dest.test", entry, "test");
        }
        var sender = mandatorySender ? "strict@example.org" : "plain@example.org";
        var policy = _policy.For(sender, sender, "dest.test");
        return HostTlsRequirement.For(policy.Level, tlsa, Host, policy.UsesDane);
    }

    [Theory]
    // destination, mandatory sender, secure TLSA → mode, strict profile
    [InlineData("none", false, false, HostTlsMode.Plaintext, false)]
    [InlineData("none", false, true, HostTlsMode.Plaintext, false)]
    [InlineData("none", true, false, HostTlsMode.Encrypt, true)]
    [InlineData("none", true, true, HostTlsMode.Encrypt, true)]
    [InlineData("may", false, false, HostTlsMode.Opportunistic, false)]
    [InlineData("may", false, true, HostTlsMode.Opportunistic, false)]
    [InlineData("may", true, false, HostTlsMode.Encrypt, true)]
    [InlineData("may", true, true, HostTlsMode.Encrypt, true)]
    [InlineData("dane", false, false, HostTlsMode.Opportunistic, false)]
    [InlineData("dane", false, true, HostTlsMode.Dane, false)]
    [InlineData("dane", true, false, HostTlsMode.Encrypt, true)]
    [InlineData("dane", true, true, HostTlsMode.Dane, true)]
    [InlineData("encrypt", false, false, HostTlsMode.Encrypt, true)]
    [InlineData("encrypt", false, true, HostTlsMode.Dane, true)]
    [InlineData("encrypt", true, false, HostTlsMode.Encrypt, true)]
    [InlineData("encrypt", true, true, HostTlsMode.Dane, true)]
    [InlineData("verify", false, false, HostTlsMode.Verify, true)]
    [InlineData("verify", false, true, HostTlsMode.Dane, true)]
    [InlineData("verify", true, false, HostTlsMode.Verify, true)]
    [InlineData("verify", true, true, HostTlsMode.Dane, true)]
    [InlineData(null, false, false, HostTlsMode.Opportunistic, false)]
    [InlineData(null, false, true, HostTlsMode.Dane, false)]
    [InlineData(null, true, false, HostTlsMode.Encrypt, true)]
    [InlineData(null, true, true, HostTlsMode.Dane, true)]
    public void TheHostRequirementFollowsTheRule(string? destination, bool mandatorySender, bool secureTlsa, HostTlsMode mode, bool strict)
    {
        var (requirement, unusable) = Requirement(destination, mandatorySender, secureTlsa ? SecureTlsa : null);
        Assert.Null(unusable);
        Assert.Equal((mode, strict), (requirement!.Mode, requirement.StrictProfile));
    }

    [Theory]
    [InlineData("none", false)]
    [InlineData("may", false)]
    [InlineData("may", true)]
    public void ATlsaLookupFailureDoesNotDeferADestinationTheOperatorLowered(string destination, bool mandatorySender)
    {
        var (requirement, unusable) = Requirement(destination, mandatorySender, ServFail);
        Assert.Null(unusable);
        Assert.NotNull(requirement);
    }

    [Theory]
    [InlineData("dane", false)]
    [InlineData("encrypt", false)]
    [InlineData(null, false)]
    [InlineData(null, true)]
    public void ATlsaLookupFailureDefersEverywhereElse(string? destination, bool mandatorySender)
    {
        var (requirement, unusable) = Requirement(destination, mandatorySender, ServFail);
        Assert.Null(requirement);
        Assert.Contains("SERVFAIL", unusable);
    }
}
