using SecureMx.Dns;
using SecureMx.Mail;

namespace SecureMx.Tests.Dns;

public sealed class MxResolutionTests
{
    private static MxHost H(string name, int pref) => new(name, pref);

    [Fact]
    public void Orders_by_ascending_preference()
    {
        var ordered = MxResolution.Order([H("c", 30), H("a", 10), H("b", 20), H("z", 0)], new Random(1));
        Assert.Equal([H("z", 0), H("a", 10), H("b", 20), H("c", 30)], ordered);
    }

    [Fact]
    public void Equal_preferences_stay_within_their_group()
    {
        for (int seed = 0; seed < 50; seed++)
        {
            var ordered = MxResolution.Order([H("b1", 20), H("a1", 10), H("b2", 20), H("first", 5), H("a2", 10), H("a3", 10)], new Random(seed));
            Assert.Equal([5, 10, 10, 10, 20, 20], ordered.Select(h => h.Preference));
            Assert.Equal("first", ordered[0].Name);
            Assert.Equal(["a1", "a2", "a3"], ordered.Skip(1).Take(3).Select(h => h.Name).Order());
            Assert.Equal(["b1", "b2"], ordered.Skip(4).Select(h => h.Name).Order());
        }
    }

    [Fact]
    public void Shuffle_is_deterministic_with_a_seeded_random_and_independent_of_input_order()
    {
        MxHost[] hosts = [H("a", 10), H("b", 10), H("c", 10), H("d", 10), H("e", 20)];
        var first = MxResolution.Order(hosts, new Random(12345));
        var again = MxResolution.Order(hosts, new Random(12345));
        var reversed = MxResolution.Order(hosts.Reverse(), new Random(12345));
        Assert.Equal(first, again);
        Assert.Equal(first, reversed);
    }

    [Fact]
    public void Every_permutation_of_equal_hosts_is_possible_and_about_equally_likely()
    {
        var random = new Random(2024);
        var counts = new Dictionary<string, int>();
        const int runs = 6000;
        for (int i = 0; i < runs; i++)
        {
            var key = string.Join(",", MxResolution.Order([H("a", 10), H("b", 10), H("c", 10)], random).Select(h => h.Name));
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        Assert.Equal(6, counts.Count);   // 3! orders
        Assert.All(counts.Values, n => Assert.InRange(n, runs / 6 * 8 / 10, runs / 6 * 12 / 10));
    }

    [Fact]
    public void From_records_normalizes_names_removes_duplicates_and_orders()
    {
        var r = MxResolution.FromRecords("example.test",
            [("MX2.Example.Test.", 20), ("mx1.example.test.", 10), ("mx2.example.test", 5)], DnsSecurity.Secure, new Random(1));
        Assert.Equal(MxResolutionKind.Hosts, r.Kind);
        Assert.Equal([H("mx2.example.test", 5), H("mx1.example.test", 10)], r.Hosts);
        Assert.Equal(r.Hosts, r.Targets);
        Assert.Equal(DnsSecurity.Secure, r.Security);
        Assert.Null(r.Failure);
    }

    [Fact]
    public void No_mx_records_is_an_implicit_mx_for_the_domain_itself()
    {
        var r = MxResolution.FromRecords("implicit.test", [], DnsSecurity.Insecure, new Random(1));
        Assert.Equal(MxResolutionKind.Implicit, r.Kind);
        Assert.Empty(r.Hosts);
        Assert.Equal([H("implicit.test", 0)], r.Targets);
        Assert.Equal(DnsSecurity.Insecure, r.Security);
        Assert.Null(r.Failure);
        var f = r.NoAddressFailure();
        Assert.True(f.Permanent);
        Assert.Equal("5.1.2 domain implicit.test has no MX and no address (A/AAAA) record: it does not accept mail (RFC 5321 §5.1)", f.ToString());
    }

    [Theory]
    [InlineData(".")]
    [InlineData("")]
    public void A_single_root_exchange_is_a_null_mx(string exchange)
    {
        var r = MxResolution.FromRecords("nullmx.test", [(exchange, 0)], DnsSecurity.Secure, new Random(1));
        Assert.Equal(MxResolutionKind.NullMx, r.Kind);
        Assert.Empty(r.Targets);
        var f = r.Failure!;
        Assert.True(f.Permanent);
        Assert.Equal(556, f.Code);
        Assert.Equal(EnhancedStatus.NullMx, f.Enhanced);
        Assert.Equal("5.1.10 nullmx.test does not accept mail (null MX, RFC 7505)", f.ToString());
        Assert.Equal("556 5.1.10 nullmx.test does not accept mail (null MX, RFC 7505)", f.ToSmtpReply().ToString());
    }

    [Fact]
    public void A_root_exchange_next_to_real_hosts_is_ignored()
    {
        var r = MxResolution.FromRecords("mixed.test", [(".", 0), ("mx.mixed.test.", 10)], DnsSecurity.Secure, new Random(1));
        Assert.Equal(MxResolutionKind.Hosts, r.Kind);
        Assert.Equal([H("mx.mixed.test", 10)], r.Hosts);
    }

    [Fact]
    public void Nxdomain_bounces_with_5_1_2()
    {
        var r = MxResolution.NoSuchDomain("nx.test", DnsSecurity.Secure);
        Assert.Equal(MxResolutionKind.NoSuchDomain, r.Kind);
        Assert.Empty(r.Targets);
        Assert.Equal("5.1.2 domain nx.test does not exist", r.Failure!.ToString());
        Assert.True(r.Failure.Permanent);
        Assert.Equal(550, r.Failure.Code);
    }

    [Fact]
    public void Temporary_failure_defers_with_4_4_3()
    {
        var r = MxResolution.TemporaryFailure("x.test", "SERVFAIL");
        Assert.Equal(MxResolutionKind.TemporaryFailure, r.Kind);
        Assert.Equal(DnsSecurity.Insecure, r.Security);
        Assert.Empty(r.Targets);
        Assert.Equal("4.4.3 DNS lookup of MX for x.test failed: SERVFAIL", r.Failure!.ToString());
        Assert.False(r.Failure.Permanent);
        Assert.Equal(451, r.Failure.Code);
    }

    [Fact]
    public void No_address_for_any_mx_host_is_5_4_4()
    {
        var r = MxResolution.FromRecords("a.test", [("mx.a.test", 10)], DnsSecurity.Secure, new Random(1));
        Assert.Equal("5.4.4 no MX host of a.test has an address (A/AAAA) record", r.NoAddressFailure().ToString());
    }
}
