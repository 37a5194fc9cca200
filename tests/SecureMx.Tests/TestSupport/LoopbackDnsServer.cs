using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SecureMx.Tests.TestSupport;

/// <summary>
/// A small DNS server on 127.0.0.1 (UDP) for resolver tests: answers from a fixed table (RFC 1035 §4.1: the
/// question echoed, the table's records of the name and type as the answer), NOERROR without records for a
/// name that has others (or was added with <see cref="AddName"/>), NXDOMAIN for any other name. Counts the questions.
/// </summary>
public sealed class LoopbackDnsServer : IAsyncDisposable
{
    public const ushort A = 1, Mx = 15, Ptr = 12;

    private readonly UdpClient _server = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly Dictionary<(string Name, ushort Type), byte[][]> _zone = new();
    private readonly HashSet<string> _names = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;
    private int _questions;

    public LoopbackDnsServer()
    {
        _serving = ServeAsync();
    }

    public IPEndPoint Endpoint => (IPEndPoint)_server.Client.LocalEndPoint!;

    /// <summary>The TTL of every record in an answer.</summary>
    public uint Ttl { get; set; } = 3600;

    /// <summary>Set the AD bit (RFC 4035 §3.2.3) in every answer.</summary>
    public bool Authenticated { get; set; }

    /// <summary>Questions received so far.</summary>
    public int Questions => Volatile.Read(ref _questions);

    public void Add(string name, ushort type, byte[] rdata)
    {
        var key = (name.ToLowerInvariant(), type);
        _zone[key] = _zone.TryGetValue(key, out var list) ? [.. list, rdata] : [rdata];
        _names.Add(key.Item1);
    }

    /// <summary>A name that exists without records of its own (NOERROR, no data).</summary>
    public void AddName(string name) => _names.Add(name.ToLowerInvariant());

    public static byte[] EncodeName(string name)
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

    public static byte[] MxData(int preference, string exchange) => [(byte)(preference >> 8), (byte)preference, .. EncodeName(exchange)];

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
        var exists = _names.Contains(name);
        var reply = new List<byte>();
        reply.AddRange(q.AsSpan(0, 2).ToArray()); // id
        reply.AddRange(new byte[] { 0x81, (byte)(0x80 | (Authenticated ? 0x20 : 0) | (exists ? 0 : 3)) }); // QR RD, RA, AD, NOERROR or NXDOMAIN
        reply.AddRange(new byte[] { 0, 1, 0, (byte)records.Length, 0, 0, 0, 0 });
        reply.AddRange(q.AsSpan(12, questionEnd - 12).ToArray());
        var ttl = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(ttl, Ttl);
        foreach (var rdata in records)
        {
            reply.AddRange(new byte[] { 0xC0, 12, (byte)(type >> 8), (byte)type, 0, 1 });
            reply.AddRange(ttl);
            reply.AddRange(new byte[] { (byte)(rdata.Length >> 8), (byte)rdata.Length });
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
