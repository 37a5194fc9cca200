using System.Net;
using SecureMx.Config;
using SecureMx.Delivery.Remote;

namespace SecureMx.Tests.Delivery.Remote;

public sealed class SourceAddressesTests
{
    private static SourceAddresses From(string source, string source6 = "") =>
        SourceAddresses.From(new DeliveryOptions { SourceAddress = source, SourceAddress6 = source6 });

    private static readonly IPAddress V4 = IPAddress.Parse("192.0.2.25");
    private static readonly IPAddress V6 = IPAddress.Parse("2001:db8::25");

    [Theory]
    [InlineData("", "", null, null)]
    [InlineData("198.51.100.1", "", "198.51.100.1", null)]
    [InlineData("2001:db8:5::1", "", null, "2001:db8:5::1")]
    [InlineData("198.51.100.1", "2001:db8:5::1", "198.51.100.1", "2001:db8:5::1")]
    [InlineData("", "2001:db8:5::1", null, "2001:db8:5::1")]
    public void EachFamilyGetsItsOwnSourceAndAFamilyWithoutOneLetsTheSystemChoose(string source, string source6, string? forV4, string? forV6)
    {
        var sources = From(source, source6);
        Assert.Equal(forV4 is null ? null : IPAddress.Parse(forV4), sources.For(V4));
        Assert.Equal(forV6 is null ? null : IPAddress.Parse(forV6), sources.For(V6));
    }

    [Fact]
    public void AHostWithAnAddressOfThePinnedFamilyIsTriedOnThatFamilyOnly()
    {
        IReadOnlyList<IPAddress> resolved = [V6, IPAddress.Parse("2001:db8::26"), V4];
        Assert.Equal([V4], From("198.51.100.1").ToTry(resolved));
        Assert.Equal([V6, IPAddress.Parse("2001:db8::26")], From("2001:db8:5::1").ToTry(resolved));
        Assert.Equal(resolved, From("").ToTry(resolved));
        Assert.Equal(resolved, From("198.51.100.1", "2001:db8:5::1").ToTry(resolved));
    }

    [Fact]
    public void AHostWithoutAnAddressOfThePinnedFamilyIsStillReachedOverTheOther()
    {
        Assert.Equal([V6], From("198.51.100.1").ToTry([V6])); // AAAA-only MX, IPv4 source
        Assert.Equal([V4], From("2001:db8:5::1").ToTry([V4])); // A-only MX, IPv6 source
    }

    [Theory]
    [InlineData("", "", true)]
    [InlineData("198.51.100.1", "2001:db8::1", true)]
    [InlineData("2001:db8::1", "", true)]
    [InlineData("nonsense", "", false)]
    [InlineData("", "198.51.100.1", false)]
    [InlineData("", "::ffff:198.51.100.1", false)]
    [InlineData("", "mx.example", false)]
    [InlineData("2001:db8::1", "2001:db8::2", false)]
    public void TheConfigurationChecksTheFamilies(string source, string source6, bool valid)
    {
        var errors = SourceAddressRules.Check(new DeliveryOptions { SourceAddress = source, SourceAddress6 = source6 }).ToList();
        Assert.Equal(valid, errors.Count == 0);
        if (!valid) Assert.Contains("delivery.sourceAddress", errors[0], StringComparison.Ordinal);
    }
}
