using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SecureMx.Dns;

namespace SecureMx.Tests.Dns;

/// <summary>
/// <see cref="MailDnsResolver.ResolveReverseNameAsync"/> on the wire, against a small in-process DNS
/// server on loopback that answers PTR and A from a fixed table (AAAA: no data): the PTR question's
/// name, its answer's parsing, and the forward confirmation through real queries.
/// </summary>
public sealed class ReverseNameResolverTests : IAsyncDisposable
{
    private readonly UdpClient _server = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly Dictionary<(string Name, ushort Type), byte[][]> _zone = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;

    private const ushort A = 1, Ptr = 12;

    public ReverseNameResolverTests()
    {
        _serving = ServeAsync();
    }

    private MailDnsResolver Resolver => new((IPEndPoint)_server.Client.LocalEndPoint!, TimeSpan.FromSeconds(2));

    private void AddPtr(string owner, string target) => Add((owner, Ptr), EncodeName(target));

    private void AddA(string owner, string address) => Add((owner, A), IPAddress.Parse(address).GetAddressBytes());

    private void Add((string, ushort) key, byte[] rdata) =>
        _zone[key] = _zone.TryGetValue(key, out var list) ? [.. list, rdata] : [rdata];

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

    private async Task ServeAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var query = await _server.ReceiveAsync(_stop.Token);
                if (Answer(query.Buffer) is { } reply) await _server.SendAsync(reply, query.RemoteEndPoint, _stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The reply to one query (RFC 1035 §4.1): the question echoed, the table's records as the answer, NXDOMAIN for a name without any.</summary>
    private byte[]? Answer(byte[] q)
    {
        int p = 12;
        var labels = new List<string>();
        while (p < q.Length && q[p] != 0)
        {
            labels.Add(Encoding.ASCII.GetString(q, p + 1, q[p]));
            p += q[p] + 1;
        }
        if (p + 5 > q.Length) return null;
        var name = string.Join('.', labels).ToLowerInvariant();
        var type = BinaryPrimitives.ReadUInt16BigEndian(q.AsSpan(p + 1));
        int questionEnd = p + 5;
        var records = _zone.TryGetValue((name, type), out var found) ? found : [];
        var exists = _zone.Keys.Any(k => k.Name == name);
        var reply = new List<byte>();
        reply.AddRange(q.AsSpan(0, 2).ToArray()); // id
        reply.AddRange(new byte[] { 0x81, (byte)(0x80 | (exists ? 0 : 3)) }); // QR RD, RA, NOERROR or NXDOMAIN
        reply.AddRange(new byte[] { 0, 1, 0, (byte)records.Length, 0, 0, 0, 0 });
        reply.AddRange(q.AsSpan(12, questionEnd - 12).ToArray());
        foreach (var rdata in records)
        {
            reply.AddRange(new byte[] { 0xC0, 12, (byte)(type >> 8), (byte)type, 0, 1, 0, 0, 0x0E, 0x10, (byte)(rdata.Length >> 8), (byte)rdata.Length });
            reply.AddRange(rdata);
        }
        return reply.ToArray();
    }

    private static byte[] EncodeName(string name)
    {
        var bytes = new List<byte>();
        foreach (var label in name.TrimEnd('.').Split('.'))
        {
            bytes.Add((byte)label.Length);
            bytes.AddRange(Encoding.ASCII.GetBytes(label));
        }
        bytes.Add(0);
        return bytes.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _server.Dispose();
        try { await _serving; } catch (ObjectDisposedException) { } catch (SocketException) { }
        _stop.Dispose();
    }
}
