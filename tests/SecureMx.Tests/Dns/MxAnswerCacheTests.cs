using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Dns;

namespace SecureMx.Tests.Dns;

/// <summary>
/// MX answers kept by <see cref="MailDnsResolver"/> (<see cref="MxAnswerCache"/>): asked once within their TTL and
/// never kept beyond a minute, with the DNSSEC status they came with; equal preferences shuffled for every lookup;
/// NXDOMAIN and answers without records asked again. A small UDP server on loopback plays the resolver and counts
/// the questions it gets.
/// </summary>
public sealed class MxAnswerCacheTests : IAsyncDisposable
{
    private readonly UdpClient _server = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UnixEpoch);
    private readonly Dictionary<string, (int Preference, string Exchange)[]> _mx = new();
    private int _questions;
    private uint _ttl = 300;
    private bool _authenticated;

    public MxAnswerCacheTests()
    {
        _serving = ServeAsync();
    }

    private int Questions => Volatile.Read(ref _questions);

    private MailDnsResolver NewResolver(int seed = 1) => new((IPEndPoint)_server.Client.LocalEndPoint!, TimeSpan.FromSeconds(2), new Random(seed), _time);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ASecondLookupWithinTheTtlIsAnsweredWithoutAskingTheResolver()
    {
        _mx["dest.test"] = [(10, "mx1.dest.test"), (20, "mx2.dest.test")];
        _authenticated = true;
        var resolver = NewResolver();

        var first = await resolver.ResolveMxAsync("dest.test", Ct);
        _time.Advance(TimeSpan.FromSeconds(29));
        var second = await resolver.ResolveMxAsync("DEST.test.", Ct);

        Assert.Equal(1, Questions);
        Assert.Equal(first.Targets.Select(t => t.Name), second.Targets.Select(t => t.Name));
        Assert.Equal(["mx1.dest.test", "mx2.dest.test"], second.Targets.Select(t => t.Name));
        Assert.Equal(DnsSecurity.Secure, second.Security); // the AD bit of the answer it was kept from
    }

    [Fact]
    public async Task AnAnswerIsAskedForAgainWhenItsTtlIsUp()
    {
        _mx["dest.test"] = [(10, "mx1.dest.test")];
        _ttl = 30;
        var resolver = NewResolver();

        await resolver.ResolveMxAsync("dest.test", Ct);
        _time.Advance(TimeSpan.FromSeconds(30));
        await resolver.ResolveMxAsync("dest.test", Ct);

        Assert.Equal(2, Questions);
    }

    [Fact]
    public async Task NoAnswerIsKeptLongerThanAMinuteWhateverItsTtl()
    {
        _mx["dest.test"] = [(10, "mx1.dest.test")];
        _ttl = 86400;
        var resolver = NewResolver();

        await resolver.ResolveMxAsync("dest.test", Ct);
        _time.Advance(TimeSpan.FromSeconds(59));
        await resolver.ResolveMxAsync("dest.test", Ct);
        Assert.Equal(1, Questions);
        _time.Advance(TimeSpan.FromSeconds(1));
        await resolver.ResolveMxAsync("dest.test", Ct);
        Assert.Equal(2, Questions);
    }

    [Fact]
    public async Task HostsOfEqualPreferenceAreShuffledForEveryLookupFromTheKeptAnswer()
    {
        _mx["dest.test"] = [(10, "a.dest.test"), (10, "b.dest.test")];
        var resolver = NewResolver(seed: 7);

        var firsts = new HashSet<string>();
        for (int i = 0; i < 40; i++) firsts.Add((await resolver.ResolveMxAsync("dest.test", Ct)).Targets[0].Name);

        Assert.Equal(1, Questions);
        Assert.Equal(["a.dest.test", "b.dest.test"], firsts.Order());
    }

    [Fact]
    public async Task NxDomainAndAnswersWithoutRecordsAreAskedForAgain()
    {
        _mx["norecords.test"] = [];
        var resolver = NewResolver();

        await resolver.ResolveMxAsync("nowhere.test", Ct);
        await resolver.ResolveMxAsync("nowhere.test", Ct);
        await resolver.ResolveMxAsync("norecords.test", Ct);
        await resolver.ResolveMxAsync("norecords.test", Ct);

        Assert.Equal(4, Questions);
    }

    [Fact]
    public async Task AZeroTtlIsNotKept()
    {
        _mx["dest.test"] = [(10, "mx1.dest.test")];
        _ttl = 0;
        var resolver = NewResolver();

        await resolver.ResolveMxAsync("dest.test", Ct);
        await resolver.ResolveMxAsync("dest.test", Ct);

        Assert.Equal(2, Questions);
    }

    private async Task ServeAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var query = await _server.ReceiveAsync(_stop.Token);
                Interlocked.Increment(ref _questions);
                if (Answer(query.Buffer) is { } reply) await _server.SendAsync(reply, query.RemoteEndPoint, _stop.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The reply (RFC 1035 §4.1): the question echoed, the MX records of the name, NXDOMAIN for a name not in the table.</summary>
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
        int questionEnd = p + 5;
        var exists = _mx.TryGetValue(name, out var records);
        records ??= [];
        var reply = new List<byte>();
        reply.AddRange(q.AsSpan(0, 2).ToArray()); // id
        reply.AddRange(new byte[] { 0x81, (byte)(0x80 | (_authenticated ? 0x20 : 0) | (exists ? 0 : 3)) }); // QR RD, RA, AD, NOERROR or NXDOMAIN
        reply.AddRange(new byte[] { 0, 1, 0, (byte)records.Length, 0, 0, 0, 0 });
        reply.AddRange(q.AsSpan(12, questionEnd - 12).ToArray());
        var ttl = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(ttl, _ttl);
        foreach (var (preference, exchange) in records)
        {
            var rdata = new List<byte> { (byte)(preference >> 8), (byte)preference };
            foreach (var label in exchange.Split('.'))
            {
                rdata.Add((byte)label.Length);
                rdata.AddRange(Encoding.ASCII.GetBytes(label));
            }
            rdata.Add(0);
            reply.AddRange(new byte[] { 0xC0, 12, 0, 15, 0, 1 });
            reply.AddRange(ttl);
            reply.AddRange(new byte[] { (byte)(rdata.Count >> 8), (byte)rdata.Count });
            reply.AddRange(rdata);
        }
        return reply.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _server.Dispose();
        try { await _serving; } catch (ObjectDisposedException) { } catch (SocketException) { }
        _stop.Dispose();
    }
}
