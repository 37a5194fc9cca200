using System.Net;
using System.Reflection;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.TestKit;

/// <summary>
/// The test bed's zone definition (tests/peers/dns-testbed.zones): the reader refuses what the
/// script would build wrongly, and the shipped file gives every role the fixtures ask for.
/// </summary>
public sealed class TestBedDefinitionTests
{
    private const string Header = "address Authoritative NET.1\naddress Resolver NET.2\n";

    private static TestBedDefinition Parse(string text) => TestBedDefinition.Parse(Header + text, "zones");

    [Fact]
    public void TheFileNextToTheTestsIsTheOneInTheRepository()
    {
        Assert.Equal(File.ReadAllText(Repository.PathOf("tests/peers/dns-testbed.zones")), File.ReadAllText(TestBedDefinition.DefaultPath));
    }

    [Fact]
    public void EveryRoleTheFixturesUseIsInTheShippedFile()
    {
        var roles = typeof(TestBed).GetProperties(BindingFlags.Public | BindingFlags.Static).Where(p => p.Name != nameof(TestBed.Definition)).ToList();
        Assert.NotEmpty(roles);
        foreach (var role in roles)
        {
            var value = role.GetValue(null); // throws (TargetInvocationException) for a role the file lacks
            Assert.NotNull(value);
        }
    }

    [Fact]
    public void EveryMxHostOfTheShippedFileHasAnAddressAndEveryTlsaOwnerIsAnMxHost()
    {
        var definition = TestBedDefinition.Default;
        foreach (var zone in definition.Zones)
        {
            foreach (var mx in zone.MxHosts.Where(m => m.Host != "."))
            {
                var address = definition.AddressOf(mx.Host); // throws without an A record
                Assert.True(address.AboveMxBase, $"{mx.Host} should move with --mx-base");
            }
            foreach (var tlsa in zone.Records.Where(r => r.Type == "TLSA"))
            {
                Assert.Contains(zone.MxHosts, m => "_25._tcp." + m.Host == tlsa.Owner);
            }
        }
    }

    [Fact]
    public void TheShippedFileDescribesTheKindsOfTheDnsTests()
    {
        Assert.Equal(TestBedZoneKind.Expired, TestBed.Servfail.Kind);
        Assert.Equal(TestBedZoneKind.Unsigned, TestBed.Unsigned.Kind);
        Assert.True(TestBed.TlsaServfail.Tlsa.Bogus);
        Assert.False(TestBed.DaneOk.Tlsa.Bogus);
        Assert.Equal([10, 20], TestBed.MxOk.MxHosts.Select(m => m.Preference));
        Assert.Equal([10, 10], TestBed.Equal.MxHosts.Select(m => m.Preference));
        Assert.Empty(TestBed.Implicit.MxHosts);
        Assert.Equal(".", Assert.Single(TestBed.NullMx.MxHosts).Host);
        Assert.Empty(TestBed.NoData.Records);
        Assert.DoesNotContain(TestBed.Definition.Zones, z => z.Name == TestBed.Nx);
    }

    [Fact]
    public void AddressesAreFixedOrMoveWithTheMxBase()
    {
        var definition = Parse("zone Example example.test signed\nexample.test. MX 10 mx.example.test.\nmx.example.test. A NET.b+6\naddress Sender NET.b+20\n");
        Assert.Equal(IPAddress.Parse("127.0.5.16"), definition.AddressOf("mx.example.test").On("127.0.5", 10));
        Assert.Equal(IPAddress.Parse("127.0.5.26"), definition.AddressOf("MX.Example.TEST").On("127.0.5", 20));
        Assert.Equal(IPAddress.Parse("127.0.5.2"), definition.Address("Resolver").On("127.0.5", 20));
        Assert.Equal("NET.b+20", definition.Address("Sender").ToString());
        Assert.Throws<ArgumentOutOfRangeException>(() => definition.Address("Sender").On("127.0.5", 240));
        Assert.Throws<KeyNotFoundException>(() => definition.AddressOf("mx.elsewhere.test"));
        Assert.Throws<KeyNotFoundException>(() => definition.Zone("Elsewhere"));
    }

    [Fact]
    public void ATlsaLineReplacesTheZonesTlsaAndABogusOneStaysBogus()
    {
        var definition = Parse("""
            zone Good good.test signed
            good.test. MX 10 mx.good.test.
            mx.good.test. A NET.b+1
            _25._tcp.mx.good.test. TLSA 3 1 1 00ff
            zone Bogus bogus.test signed
            bogus.test. MX 10 mx.bogus.test.
            mx.bogus.test. A NET.b+2
            BOGUS-TLSA _25._tcp.mx.bogus.test. 3 1 1 00ff
            zone None none.test signed
            """);
        Assert.Equal("_25._tcp.mx.good.test. TLSA 3 1 1 abcd", definition.Zone("Good").TlsaLine("3 1 1 abcd"));
        Assert.Equal("BOGUS-TLSA _25._tcp.mx.bogus.test. 2 1 1 abcd", definition.Zone("Bogus").TlsaLine("2 1 1 abcd"));
        Assert.Throws<InvalidOperationException>(() => definition.Zone("None").TlsaLine("3 1 1 abcd"));
        Assert.Throws<InvalidOperationException>(() => definition.Zone("None").Mx);
    }

    [Fact]
    public void HostsAreARecordsOfTheirZoneFoundByRole()
    {
        var definition = Parse("zone Provider provider.test signed\nhost SecureMx securemx.provider.test NET.b+30\n");
        Assert.Equal("securemx.provider.test", definition.Host("SecureMx"));
        Assert.Equal("NET.b+30", definition.AddressOf("securemx.provider.test").ToString());
        Assert.Equal("provider.test", definition.Domain("Provider"));
    }

    [Theory]
    [InlineData("mx.example.test. A NET.b+1\n", ":3: a record before the first zone line")]
    [InlineData("zone Example example.test secret\n", ":3: KIND is signed, unsigned or expired")]
    [InlineData("zone Example example.org signed\n", ":3: a zone is X.test")]
    [InlineData("zone Example example.test signed\nzone Example other.test signed\n", ":4: the role Example is used twice")]
    [InlineData("zone example example.test signed\n", ":3: a role is a name like DaneOk")]
    [InlineData("zone Example example.test signed\nzone Again example.test signed\n", ":4: the zone example.test is defined twice")]
    [InlineData("zone Example example.test signed\nmx.other.test. A NET.b+1\n", ":4: mx.other.test is not in the zone example.test")]
    [InlineData("zone Example example.test signed\nmx.example.test A NET.b+1\n", ":4: a record's owner is absolute")]
    [InlineData("zone Example example.test signed\nmx.example.test. A 127.0.5.1\n", ":4: an address is NET.N or NET.b+K")]
    [InlineData("zone Example example.test signed\nmx.example.test. A NET.0\n", ":4: an address is NET.N or NET.b+K")]
    [InlineData("zone Example example.test signed\nmx.example.test. MX\n", ":4: OWNER. TYPE DATA expected")]
    [InlineData("zone Example example.test signed\nBOGUS-TLSA mx.example.test. 3 1 1 00\n", ":4: a BOGUS-TLSA owner is _PORT._tcp.HOST.")]
    [InlineData("zone Example example.test signed\nhost Mx mx.other.test NET.b+1\n", ":4: mx.other.test is not in the zone example.test")]
    [InlineData("address Here NET.2\n", ": the addresses Resolver and Here are both NET.2")]
    [InlineData("zone Example example.test signed\nmx.example.test. A NET.b+1\naddress Here NET.b+1\n", ": the address Here is NET.b+1, the address of mx.example.test too")]
    [InlineData("zone Example example.test signed\nabsent Gone example.test\n", ": example.test (Gone) is absent, but the file has records at or below it")]
    public void AMalformedDefinitionIsRefusedWithItsLine(string text, string message)
    {
        var e = Assert.Throws<FormatException>(() => Parse(text));
        Assert.StartsWith("zones", e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CommentsAndBlankLinesAreIgnored()
    {
        var definition = Parse("# the servers\n\nzone Example example.test unsigned   # a comment\n  \nexample.test. MX 10 mx.example.test. # preference 10\n");
        var zone = definition.Zone("Example");
        Assert.Equal(TestBedZoneKind.Unsigned, zone.Kind);
        Assert.Equal(new TestBedMx("mx.example.test", 10), Assert.Single(zone.MxHosts));
    }
}
