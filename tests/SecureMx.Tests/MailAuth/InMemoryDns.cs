using System.Net;
using System.Net.Sockets;
using DnsClient;
using SecureMx.Dns;

namespace SecureMx.Tests.MailAuth;

/// <summary>
/// A zone in memory for SPF, DKIM and DMARC tests: records by name and type, names that time out,
/// CNAMEs followed one level (as the SPF test suite's driver does). Names are case-insensitive; a
/// name that is not there is NXDOMAIN, a name with other types only is NODATA. Counts the questions.
/// </summary>
public sealed class InMemoryDns : IDnsRecordLookup
{
    private readonly Dictionary<string, List<(string Type, object Value)>> _zone = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _timeouts = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<(string, string)> _typeTimeouts = [];

    public int Queries { get; private set; }

    public InMemoryDns Add(string name, string type, object value)
    {
        name = name.TrimEnd('.');
        if (!_zone.TryGetValue(name, out var list)) _zone[name] = list = [];
        list.Add((type.ToUpperInvariant(), value));
        return this;
    }

    public InMemoryDns Txt(string name, string value) => Add(name, "TXT", value);

    public InMemoryDns A(string name, string address) => Add(name, IPAddress.Parse(address).AddressFamily == AddressFamily.InterNetworkV6 ? "AAAA" : "A", IPAddress.Parse(address));

    /// <summary>Every question for the name times out, except types it has records of (the suite's TIMEOUT).</summary>
    public InMemoryDns Timeout(string name)
    {
        _timeouts.Add(name.TrimEnd('.'));
        if (!_zone.ContainsKey(name.TrimEnd('.'))) _zone[name.TrimEnd('.')] = [];
        return this;
    }

    /// <summary>Questions of this type for the name time out.</summary>
    public InMemoryDns Timeout(string name, string type)
    {
        _typeTimeouts.Add((name.TrimEnd('.').ToLowerInvariant(), type.ToUpperInvariant()));
        return this;
    }

    private DnsLookup<T> Lookup<T>(string name, string type, Func<object, T> convert, int level = 0)
    {
        Queries++;
        name = name.TrimEnd('.');
        if (name.Split('.').Any(l => l.Length is 0 or > 63)) return DnsLookup.NxDomain<T>();
        if (_typeTimeouts.Contains((name.ToLowerInvariant(), type))) return DnsLookup.Failed<T>("timeout");
        if (!_zone.TryGetValue(name, out var records))
        {
            return name.StartsWith("error.", StringComparison.OrdinalIgnoreCase) ? DnsLookup.Failed<T>("timeout") : DnsLookup.NxDomain<T>();
        }
        var found = records.Where(r => r.Type == type).Select(r => convert(r.Value)).ToList();
        if (found.Count == 0 && _timeouts.Contains(name)) return DnsLookup.Failed<T>("timeout");
        if (found.Count == 0 && level == 0 && records.FirstOrDefault(r => r.Type == "CNAME") is { Type: not null } cname)
        {
            Queries--;
            return Lookup(((string)cname.Value).TrimEnd('.'), type, convert, 1);
        }
        return DnsLookup.Found(found);
    }

    public Task<DnsLookup<string>> TxtAsync(string name, CancellationToken cancellationToken = default) =>
        Task.FromResult(Lookup(name, "TXT", v => (string)v));

    public Task<DnsLookup<IPAddress>> AddressesAsync(string name, AddressFamily family, CancellationToken cancellationToken = default) =>
        Task.FromResult(Lookup(name, family == AddressFamily.InterNetworkV6 ? "AAAA" : "A", v => (IPAddress)v));

    public Task<DnsLookup<MxRecordData>> MxAsync(string name, CancellationToken cancellationToken = default) =>
        Task.FromResult(Lookup(name, "MX", v => (MxRecordData)v));

    public Task<DnsLookup<string>> PtrAsync(IPAddress address, CancellationToken cancellationToken = default) =>
        Task.FromResult(Lookup(address.GetArpaName(), "PTR", v => ((string)v).TrimEnd('.')));
}
