using System.Net;
using System.Net.Sockets;
using DnsClient;
using DnsClient.Protocol;
using SecureMx.Config;
using SecureMx.Telemetry;
using SecureMx.Tls;

namespace SecureMx.Dns;

/// <summary>
/// MX, A/AAAA and TLSA lookups for outbound delivery through ONE configured resolver (config key
/// <c>dns</c>, "ADDR:PORT"), using DnsClient. The resolver must be a local validating resolver
/// (e.g. unbound on 127.0.0.1): its AD bit is trusted as the DNSSEC status of every answer, as
/// Postfix and Exim do (RFC 7672 §1.3; RFC 6698 Appendix A.3 on the path to the resolver).
/// <para>
/// Every query sets DO=1 (RFC 3225; the AD bit is only set on DO queries, RFC 6840 §5.7), RD=1, no
/// client-side cache (the resolver caches) but for MX answers with records (<see cref="MxAnswerCache"/>: for their
/// TTL, at most a minute, with their DNSSEC status), no fallback to other servers on a DNS error, TCP after
/// a truncated UDP answer (RFC 7766). Answers are classified by RCODE: NOERROR with records,
/// NOERROR without records (NODATA, RFC 2308), NXDOMAIN, anything else (SERVFAIL, REFUSED …) or no
/// answer within the timeout (tried <see cref="Attempts"/> times) is a temporary failure. Only
/// records of the requested type are taken from the answer section, so a CNAME chain that the
/// resolver followed is handled (RFC 1034 §3.6.2). Names are expected in ASCII (A-labels).
/// </para>
/// Thread-safe: one instance serves all delivery workers.
/// </summary>
public sealed class MailDnsResolver : IMailDnsResolver, IDnsRecordLookup
{
    /// <summary>Default time to wait for one answer.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Tries per question: the first and one retry (DnsClient <c>Retries = 1</c>).</summary>
    public const int Attempts = 2;

    private readonly LookupClient _client;
    private readonly Random _random;
    private readonly Lock _randomLock = new();
    private readonly MxAnswerCache _mx;

    /// <param name="resolver">The validating resolver's address and port.</param>
    /// <param name="timeout">Time to wait for one answer (default 5 s); a question fails after <see cref="Attempts"/> times this.</param>
    /// <param name="random">Source for the order of MX hosts of equal preference (default <see cref="Random.Shared"/>).</param>
    /// <param name="time">The clock of the MX answers kept (default the system's).</param>
    public MailDnsResolver(IPEndPoint resolver, TimeSpan? timeout = null, Random? random = null, TimeProvider? time = null)
    {
        _mx = new MxAnswerCache(time ?? TimeProvider.System);
        ArgumentNullException.ThrowIfNull(resolver);
        Resolver = resolver;
        Timeout = timeout ?? DefaultTimeout;
        if (Timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(timeout), "the DNS timeout must be positive");
        _random = random ?? Random.Shared;
        _client = new LookupClient(new LookupClientOptions(resolver)
        {
            RequestDnsSecRecords = true,
            UseCache = false,
            ContinueOnDnsError = false,
            ContinueOnEmptyResponse = false,
            ThrowDnsErrors = false,
            Recursion = true,
            Timeout = Timeout,
            Retries = Attempts - 1,
            UseTcpFallback = true,
            UseRandomNameServer = false,
            EnableAuditTrail = false,
        });
    }

    /// <summary>From the configuration value "ADDR:PORT" ("[::1]:53" for IPv6), as in securemx.json key <c>dns</c>.</summary>
    public MailDnsResolver(string resolver, TimeSpan? timeout = null, Random? random = null, TimeProvider? time = null)
        : this(Endpoint.Parse(resolver, "dns") ?? throw new FormatException("dns: a resolver is required (ADDR:PORT)"), timeout, random, time)
    {
    }

    /// <summary>The resolver every question goes to.</summary>
    public IPEndPoint Resolver { get; }

    /// <summary>Time to wait for one answer.</summary>
    public TimeSpan Timeout { get; }

    /// <inheritdoc />
    public async Task<MxResolution> ResolveMxAsync(string domain, CancellationToken cancellationToken = default)
    {
        if (_mx.Find(domain) is { } kept)
        {
            lock (_randomLock) return MxResolution.FromRecords(domain, kept.Records, kept.Security, _random);
        }
        var answer = await QueryAsync(domain, QueryType.MX,
            rs => rs.MxRecords().Select(r => (Exchange: r.Exchange.Value, Preference: (int)r.Preference, Ttl: r.TimeToLive)), cancellationToken).ConfigureAwait(false);
        switch (answer.Status)
        {
            case DnsAnswerStatus.Failure:
                return MxResolution.TemporaryFailure(domain, answer.Reason!);
            case DnsAnswerStatus.NxDomain:
                return MxResolution.NoSuchDomain(domain, answer.Security);
            default:
                var records = answer.Records.Select(r => (r.Exchange, r.Preference)).ToList();
                if (records.Count > 0) _mx.Keep(domain, records, answer.Security, TimeSpan.FromSeconds(answer.Records.Min(r => r.Ttl)));
                lock (_randomLock) return MxResolution.FromRecords(domain, records, answer.Security, _random);
        }
    }

    /// <inheritdoc />
    public async Task<AddressResolution> ResolveAddressesAsync(string host, CancellationToken cancellationToken = default)
    {
        var a = QueryAsync(host, QueryType.A, rs => rs.ARecords().Select(r => r.Address), cancellationToken);
        var aaaa = QueryAsync(host, QueryType.AAAA, rs => rs.AaaaRecords().Select(r => r.Address), cancellationToken);
        await Task.WhenAll(a, aaaa).ConfigureAwait(false);
        return AddressResolution.Combine(host, await a.ConfigureAwait(false), await aaaa.ConfigureAwait(false));
    }

    /// <inheritdoc />
    public async Task<TlsaResolution> ResolveTlsaAsync(string host, int port, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        var name = TlsaResolution.OwnerName(host, port);
        var answer = await QueryAsync(name, QueryType.TLSA,
            rs => rs.TlsaRecords().Select(r => new TlsaRecordData((byte)r.CertificateUsage, (byte)r.Selector, (byte)r.MatchingType, r.CertificateAssociationData.ToArray())),
            cancellationToken).ConfigureAwait(false);
        return TlsaResolution.FromAnswer(name, answer);
    }

    /// <inheritdoc />
    public async Task<TxtResolution> ResolveTxtAsync(string name, CancellationToken cancellationToken = default)
    {
        // A TXT record is a sequence of character-strings; its meaning is their concatenation (RFC 8461 §3.1).
        var answer = await QueryAsync(name, QueryType.TXT, rs => rs.TxtRecords().Select(r => string.Concat(r.Text)), cancellationToken).ConfigureAwait(false);
        return answer.Status switch
        {
            DnsAnswerStatus.Failure => TxtResolution.Failed(name, answer.Reason!),
            DnsAnswerStatus.Records => TxtResolution.Found(name, answer.Records, answer.Security),
            _ => TxtResolution.NoRecords(name, answer.Security),
        };
    }

    /// <summary>PTR names tried for forward confirmation: a host with more is misconfigured or hostile.</summary>
    public const int MaxReverseNames = 3;

    /// <inheritdoc />
    public async Task<string?> ResolveReverseNameAsync(IPAddress address, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        var ptr = await QueryAsync(address.GetArpaName(), QueryType.PTR, rs => rs.PtrRecords().Select(r => r.PtrDomainName.Value), cancellationToken).ConfigureAwait(false);
        if (ptr.Status != DnsAnswerStatus.Records) return null;
        return await ReverseNames.FirstConfirmedAsync(address, ptr.Records, (name, ct) => ResolveAddressesAsync(name, ct), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<DnsLookup<string>> TxtAsync(string name, CancellationToken cancellationToken = default) =>
        Lookup(await QueryAsync(name, QueryType.TXT, rs => rs.TxtRecords().Select(r => string.Concat(r.Text)), cancellationToken).ConfigureAwait(false));

    /// <inheritdoc />
    public async Task<DnsLookup<IPAddress>> AddressesAsync(string name, AddressFamily family, CancellationToken cancellationToken = default) =>
        Lookup(family == AddressFamily.InterNetworkV6
            ? await QueryAsync(name, QueryType.AAAA, rs => rs.AaaaRecords().Select(r => r.Address), cancellationToken).ConfigureAwait(false)
            : await QueryAsync(name, QueryType.A, rs => rs.ARecords().Select(r => r.Address), cancellationToken).ConfigureAwait(false));

    /// <inheritdoc />
    public async Task<DnsLookup<MxRecordData>> MxAsync(string name, CancellationToken cancellationToken = default) =>
        Lookup(await QueryAsync(name, QueryType.MX, rs => rs.MxRecords().Select(r => new MxRecordData(r.Preference, r.Exchange.Value.TrimEnd('.'))), cancellationToken).ConfigureAwait(false));

    /// <inheritdoc />
    public async Task<DnsLookup<string>> PtrAsync(IPAddress address, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        return Lookup(await QueryAsync(address.GetArpaName(), QueryType.PTR, rs => rs.PtrRecords().Select(r => r.PtrDomainName.Value.TrimEnd('.')), cancellationToken).ConfigureAwait(false));
    }

    private static DnsLookup<T> Lookup<T>(DnsAnswer<T> answer) => answer.Status switch
    {
        DnsAnswerStatus.Records => DnsLookup.Found(answer.Records),
        DnsAnswerStatus.NoData => DnsLookup.NoData<T>(),
        DnsAnswerStatus.NxDomain => DnsLookup.NxDomain<T>(),
        _ => DnsLookup.Failed<T>(answer.Reason ?? "DNS failure"),
    };

    /// <summary>One question to the resolver, classified (see the class remarks). Cancellation by the caller propagates.</summary>
    private async Task<DnsAnswer<T>> QueryAsync<T>(string name, QueryType type, Func<IEnumerable<DnsResourceRecord>, IEnumerable<T>> select, CancellationToken ct)
    {
        IDnsQueryResponse response;
        try
        {
            // Absolute name: no search list, no surprises with single-label names.
            response = await _client.QueryAsync(name.TrimEnd('.') + ".", type, QueryClass.IN, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (ct.IsCancellationRequested && e is not OperationCanceledException)
        {
            // DnsClient reports the caller's cancellation as a DnsResponseException (timeout): it is not a DNS failure.
            throw new OperationCanceledException("DNS query cancelled", e, ct);
        }
        catch (DnsResponseException e) when (e.Code == DnsResponseCode.ConnectionTimeout)
        {
            return Failed<T>(type, "timeout", TimeoutReason());
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return Failed<T>(type, "timeout", TimeoutReason());
        }
        catch (DnsResponseException e)
        {
            return Failed<T>(type, "other", $"resolver {Resolver}: {e.Code}: {e.Message}");
        }
        catch (SocketException e)
        {
            return Failed<T>(type, "unreachable", $"resolver {Resolver} unreachable: {e.Message}");
        }
        catch (ArgumentException)
        {
            // Not a valid DNS name (empty label, label over 63 octets, name over 255): it cannot exist.
            return DnsAnswer<T>.NxDomain(DnsSecurity.Insecure);
        }

        var security = response.Header.IsAuthenticData ? DnsSecurity.Secure : DnsSecurity.Insecure;
        return response.Header.ResponseCode switch
        {
            DnsHeaderResponseCode.NoError => DnsAnswer<T>.Found(select(response.Answers).ToList(), security),
            DnsHeaderResponseCode.NotExistentDomain => DnsAnswer<T>.NxDomain(security),
            var code => Failed<T>(type, code switch
            {
                DnsHeaderResponseCode.ServerFailure => "servfail",
                DnsHeaderResponseCode.Refused => "refused",
                _ => "other",
            }, RcodeName(code)),
        };
    }

    /// <summary>A temporary failure, counted in <see cref="SecureMxMetrics.DnsFailures"/> by query type and reason.</summary>
    private static DnsAnswer<T> Failed<T>(QueryType type, string reasonTag, string reason)
    {
        SecureMxMetrics.DnsFailures.Add(1, new("type", type.ToString().ToLowerInvariant()), new("reason", reasonTag));
        return DnsAnswer<T>.Fail(reason);
    }

    private string TimeoutReason() =>
        $"timeout (no answer from the resolver {Resolver} after {Attempts} tries of {Timeout.TotalSeconds:0.###} s)";

    /// <summary>RFC 1035 §4.1.1 / RFC 6895 §2.3 mnemonics, as dig prints them.</summary>
    internal static string RcodeName(DnsHeaderResponseCode code) => code switch
    {
        DnsHeaderResponseCode.ServerFailure => "SERVFAIL",
        DnsHeaderResponseCode.Refused => "REFUSED",
        DnsHeaderResponseCode.FormatError => "FORMERR",
        DnsHeaderResponseCode.NotImplemented => "NOTIMP",
        DnsHeaderResponseCode.NotAuthorized => "NOTAUTH",
        DnsHeaderResponseCode.NotZone => "NOTZONE",
        _ => $"RCODE {(int)code}",
    };
}
