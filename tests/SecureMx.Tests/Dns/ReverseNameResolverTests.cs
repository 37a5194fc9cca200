using System.Net;
using SecureMx.Dns;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dns;

/// <summary>
/// <see cref="MailDnsResolver.ResolveReverseNameAsync"/> on the wire, against a small in-process DNS
/// server on loopback that answers PTR and A from a fixed table (AAAA: no data): the PTR question's
/// name, its answer's parsing, and the forward confirmation through real queries.
/// </summary>
public sealed class ReverseNameResolverTests : IAsyncDisposable
{
    private readonly LoopbackDnsServer _server = new();

    private MailDnsResolver Resolver => new(_server.Endpoint, TimeSpan.FromSeconds(2));

    private void AddPtr(string owner, string target) => _server.Add(owner, LoopbackDnsServer.Ptr, LoopbackDnsServer.EncodeName(target));

    private void AddA(string owner, string address) => _server.Add(owner, LoopbackDnsServer.A, IPAddress.Parse(address).GetAddressBytes());

    [Fact]
    public async Task AConfirmedPtrNameIsReturned()
    {
        AddPtr("1.2.0.192.in-addr.arpa", "Mail.Sender.Test");
        AddA("mail.sender.test", "192.0.2.1");
        Assert.Equal("mail.sender.test", await Resolver.ResolveReverseNameAsync(IPAddress.Parse("192.0.2.1"), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task AnIpv4MappedClientIsAskedAsIpv4()
    {
        AddPtr("1.2.0.192.in-addr.arpa", "mail.sender.test");
        AddA("mail.sender.test", "192.0.2.1");
        Assert.Equal("mail.sender.test", await Resolver.ResolveReverseNameAsync(IPAddress.Parse("::ffff:192.0.2.1"), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task AnUnconfirmedOrMissingPtrGivesNoName()
    {
        AddPtr("1.2.0.192.in-addr.arpa", "mx.bank.test");
        AddA("mx.bank.test", "198.51.100.1");
        Assert.Null(await Resolver.ResolveReverseNameAsync(IPAddress.Parse("192.0.2.1"), TestContext.Current.CancellationToken));
        Assert.Null(await Resolver.ResolveReverseNameAsync(IPAddress.Parse("192.0.2.2"), TestContext.Current.CancellationToken));
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
