using System.Net;
using SecureMx.Dns;

namespace SecureMx.Tests.Dns;

/// <summary>Forward confirmation of PTR names (the refused-mail report names a host only by a confirmed name).</summary>
public sealed class ReverseNameTests
{
    private static readonly IPAddress Client = IPAddress.Parse("192.0.2.1");

    private static Func<string, CancellationToken, Task<AddressResolution>> Forward(Dictionary<string, string[]> zone, List<string>? asked = null) =>
        (name, _) =>
        {
            asked?.Add(name);
            var found = zone.TryGetValue(name, out var a) ? a.Select(IPAddress.Parse).ToArray() : [];
            return Task.FromResult(AddressResolution.Combine(name,
                DnsAnswer<IPAddress>.Found(found.Where(x => x.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork).ToList(), DnsSecurity.Insecure),
                DnsAnswer<IPAddress>.Found(found.Where(x => x.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6).ToList(), DnsSecurity.Insecure)));
        };

    [Fact]
    public async Task ANameWhoseAddressesContainTheClientIsConfirmedLowerCaseWithoutTheDot()
    {
        var name = await ReverseNames.FirstConfirmedAsync(Client, ["Mail.Sender.Test."], Forward(new() { ["mail.sender.test"] = ["198.51.100.1", "192.0.2.1"] }), default);
        Assert.Equal("mail.sender.test", name);
    }

    [Fact]
    public async Task ANameThatDoesNotPointBackIsNotConfirmed()
    {
        var name = await ReverseNames.FirstConfirmedAsync(Client, ["mx.bank.test"], Forward(new() { ["mx.bank.test"] = ["198.51.100.1"] }), default);
        Assert.Null(name);
        Assert.Null(await ReverseNames.FirstConfirmedAsync(Client, ["gone.test"], Forward(new()), default));
    }

    [Fact]
    public async Task TheFirstConfirmedOfSeveralCountsAndAtMostThreeAreTried()
    {
        var asked = new List<string>();
        var zone = new Dictionary<string, string[]> { ["b.test"] = ["192.0.2.1"], ["e.test"] = ["192.0.2.1"] };
        Assert.Equal("b.test", await ReverseNames.FirstConfirmedAsync(Client, ["a.test", "b.test", "c.test"], Forward(zone, asked), default));
        Assert.Equal(["a.test", "b.test"], asked);
        asked.Clear();
        Assert.Null(await ReverseNames.FirstConfirmedAsync(Client, ["a.test", "c.test", "d.test", "e.test"], Forward(zone, asked), default));
        Assert.Equal(MailDnsResolver.MaxReverseNames, asked.Count);
    }

    [Fact]
    public async Task AnIpv6ClientIsConfirmedByItsAaaaRecord()
    {
        var v6 = IPAddress.Parse("2001:db8::25");
        Assert.Equal("mx6.test", await ReverseNames.FirstConfirmedAsync(v6, ["mx6.test"], Forward(new() { ["mx6.test"] = ["2001:db8::25"] }), default));
    }
}

/// <summary><see cref="MailDnsResolver.ResolveReverseNameAsync"/> when the resolver does not answer: unknown, not an error.</summary>
public sealed class ReverseNameResolverFailureTests
{
    [Fact]
    public async Task AResolverThatDoesNotAnswerGivesNoName()
    {
        using var silent = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0)); // bound, never answers
        var dns = new MailDnsResolver((IPEndPoint)silent.Client.LocalEndPoint!, TimeSpan.FromMilliseconds(200));
        Assert.Null(await dns.ResolveReverseNameAsync(IPAddress.Parse("192.0.2.1"), TestContext.Current.CancellationToken));
    }
}
