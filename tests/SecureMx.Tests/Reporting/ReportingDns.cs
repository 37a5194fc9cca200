using System.Net;
using SecureMx.Dns;

namespace SecureMx.Tests.Reporting;

/// <summary>
/// A resolver for the reporting tests: TXT answers from a table (a name not in it has none; a name
/// mapped to null fails temporarily), every host name in <see cref="Hosts"/> is 127.0.0.1, others do not exist.
/// </summary>
internal sealed class ReportingDns : IMailDnsResolver
{
    public Dictionary<string, string[]?> Txt { get; } = new(StringComparer.OrdinalIgnoreCase);

    public HashSet<string> Hosts { get; } = new(StringComparer.OrdinalIgnoreCase);

    public List<string> TxtAsked { get; } = [];

    public Task<AddressResolution> ResolveAddressesAsync(string host, CancellationToken ct = default) =>
        Task.FromResult(Hosts.Contains(host)
            ? AddressResolution.Combine(host, DnsAnswer<IPAddress>.Found([IPAddress.Loopback], DnsSecurity.Insecure), DnsAnswer<IPAddress>.NoData(DnsSecurity.Insecure))
            : AddressResolution.Combine(host, DnsAnswer<IPAddress>.NxDomain(DnsSecurity.Insecure), DnsAnswer<IPAddress>.NxDomain(DnsSecurity.Insecure)));

    public Task<TxtResolution> ResolveTxtAsync(string name, CancellationToken ct = default)
    {
        lock (TxtAsked) TxtAsked.Add(name);
        if (!Txt.TryGetValue(name, out var records)) return Task.FromResult(TxtResolution.NoRecords(name, DnsSecurity.Insecure));
        return Task.FromResult(records is null ? TxtResolution.Failed(name, "SERVFAIL") : TxtResolution.Found(name, records, DnsSecurity.Insecure));
    }

    public Task<MxResolution> ResolveMxAsync(string domain, CancellationToken ct = default) => throw new InvalidOperationException("not asked");

    public Task<TlsaResolution> ResolveTlsaAsync(string host, int port, CancellationToken ct = default) => throw new InvalidOperationException("not asked");
}
