using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using SecureMx.Dns;

namespace SecureMx.MailAuth.Spf;

/// <summary>
/// check_host() of RFC 7208 (§4) on our own resolver. ARSoft.Tools.Net has an SPF validator, but it
/// asks DNS through its own client: it would not use the configured validating resolver and its
/// timeouts, and it cannot tell a timeout from a refusal, so the evaluator is ours.
/// <para>
/// Limits against hostile records (§4.6.4): at most 10 mechanisms or modifiers that query DNS (include,
/// a, mx, ptr, exists, redirect) in the whole evaluation, includes counted; at most 2 void lookups
/// (NXDOMAIN or NODATA); at most 10 MX names and 10 PTR names looked at. Each exceeded limit is a
/// permerror. A DNS failure (SERVFAIL, timeout) is a temperror; so is the caller's cancellation (the
/// session's time budget for authentication).
/// </para>
/// </summary>
public sealed class SpfEvaluator(IDnsRecordLookup dns, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public const int MaxDnsLookups = 10;
    public const int MaxVoidLookups = 2;
    public const int MaxNamesPerLookup = 10;

    /// <summary>
    /// check_host(ip, domain, sender). <paramref name="sender"/> is the MAIL FROM address, or
    /// postmaster@HELO for the HELO identity and for the null reverse-path (§2.4); a sender without a
    /// local-part gets "postmaster" (§4.3). <paramref name="receiver"/> names us in explanations (%{r}).
    /// </summary>
    public async Task<SpfVerdict> CheckHostAsync(IPAddress ip, string domain, string sender, string helo, string receiver, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ip);
        if (ip.IsIPv4MappedToIPv6) ip = ip.MapToIPv4(); // §5: an IPv4 client over IPv6 is matched as IPv4
        int at = sender.LastIndexOf('@');
        var local = at <= 0 ? "postmaster" : sender[..at];
        var run = new Run(dns, _time, ip, local, at < 0 ? domain : sender[(at + 1)..], helo, receiver, cancellationToken);
        try
        {
            return await run.CheckHostAsync(domain, 0).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new SpfVerdict(SpfResult.TempError, null, "the time for DNS lookups ran out");
        }
        catch (SpfAbort abort)
        {
            return new SpfVerdict(abort.Result, null, abort.Message);
        }
    }

    /// <summary>
    /// A name SPF can look up (§4.3): ASCII, no empty label, no label over 63 octets, at least two labels,
    /// not an address literal. Anything else makes check_host() "none" at its start, and makes a
    /// mechanism's target not match (it cannot exist in DNS).
    /// </summary>
    public static bool IsValidDomain(string domain)
    {
        var name = domain.EndsWith('.') ? domain[..^1] : domain;
        if (name.Length is 0 or > 253 || name.StartsWith('[')) return false;
        var labels = name.Split('.');
        if (labels.Length < 2) return false;
        foreach (var label in labels)
        {
            if (label.Length is 0 or > 63) return false;
            foreach (var ch in label)
            {
                if (ch is < ' ' or > '~') return false; // a label may hold a space (%_ in a macro, §7.1)
            }
        }
        return true;
    }

    /// <summary>Ends the evaluation with a result (temperror, permerror) from anywhere in the recursion.</summary>
    private sealed class SpfAbort(SpfResult result, string message) : Exception(message)
    {
        public SpfResult Result { get; } = result;
    }

    /// <summary>One evaluation: its counters are shared by every include and redirect in it.</summary>
    private sealed class Run(IDnsRecordLookup dns, TimeProvider time, IPAddress ip, string local, string senderDomain, string helo, string receiver, CancellationToken ct)
    {
        private int _dnsLookups;
        private int _voidLookups;
        private string? _validatedName;

        public async Task<SpfVerdict> CheckHostAsync(string domain, int depth)
        {
            domain = domain.TrimEnd('.');
            if (!IsValidDomain(domain)) return new SpfVerdict(SpfResult.None, null, $"{domain} is not a domain name SPF can look up");
            var txt = await dns.TxtAsync(domain, ct).ConfigureAwait(false);
            if (txt.Status == DnsLookupStatus.Failure) return new SpfVerdict(SpfResult.TempError, null, $"TXT lookup of {domain} failed: {txt.Reason}");
            var records = txt.Records.Where(SpfRecord.IsSpfRecord).ToList();
            if (records.Count == 0) return new SpfVerdict(SpfResult.None, null, $"{domain} has no SPF record");
            if (records.Count > 1) return new SpfVerdict(SpfResult.PermError, null, $"{domain} has {records.Count} SPF records");
            var record = SpfRecord.Parse(records[0], out var problem);
            if (record is null) return new SpfVerdict(SpfResult.PermError, null, $"SPF record of {domain}: {problem}");

            foreach (var d in record.Directives)
            {
                if (await MatchesAsync(d, domain, depth).ConfigureAwait(false))
                {
                    var explanation = d.Qualifier == SpfResult.Fail && record.Explanation is { } exp ? await ExplainAsync(exp, domain).ConfigureAwait(false) : null;
                    return new SpfVerdict(d.Qualifier, explanation);
                }
            }
            if (record.Redirect is { } redirect)
            {
                CountDnsLookup();
                var target = await ExpandDomainAsync(redirect, domain).ConfigureAwait(false);
                var result = await CheckHostAsync(target, depth + 1).ConfigureAwait(false);
                // §6.1: a redirect to a domain without an SPF record (or not a domain at all) is a permerror.
                return result.Result == SpfResult.None ? new SpfVerdict(SpfResult.PermError, null, $"redirect={target}: {result.Problem}") : result;
            }
            return new SpfVerdict(SpfResult.Neutral); // §4.7
        }

        private void CountDnsLookup()
        {
            if (++_dnsLookups > MaxDnsLookups) throw new SpfAbort(SpfResult.PermError, $"more than {MaxDnsLookups} DNS-querying terms");
        }

        /// <summary>A void lookup (NXDOMAIN or NODATA) of a term; the third one is a permerror (§4.6.4).</summary>
        private void CountVoid()
        {
            if (++_voidLookups > MaxVoidLookups) throw new SpfAbort(SpfResult.PermError, $"more than {MaxVoidLookups} void DNS lookups");
        }

        private static void ThrowIfFailed<T>(DnsLookup<T> lookup, string what)
        {
            if (lookup.Status == DnsLookupStatus.Failure) throw new SpfAbort(SpfResult.TempError, $"{what} failed: {lookup.Reason}");
        }

        private async Task<bool> MatchesAsync(SpfDirective d, string domain, int depth)
        {
            if (d.CountsAsDnsLookup) CountDnsLookup();
            switch (d.Kind)
            {
                case SpfMechanismKind.All:
                    return true;
                case SpfMechanismKind.Ip4 or SpfMechanismKind.Ip6:
                    return SpfRecord.InNetwork(ip, d.Network!, d.Kind == SpfMechanismKind.Ip4 ? d.Ip4Prefix!.Value : d.Ip6Prefix!.Value);
                case SpfMechanismKind.Include:
                {
                    var target = await ExpandDomainAsync(d.Domain!, domain).ConfigureAwait(false);
                    var inner = await CheckHostAsync(target, depth + 1).ConfigureAwait(false);
                    return inner.Result switch
                    {
                        SpfResult.Pass => true,
                        SpfResult.Fail or SpfResult.SoftFail or SpfResult.Neutral => false,
                        SpfResult.TempError => throw new SpfAbort(SpfResult.TempError, $"include:{target}: {inner.Problem}"),
                        // §5.2: an included domain without a record, or with an error, is a permerror.
                        _ => throw new SpfAbort(SpfResult.PermError, $"include:{target}: {inner.Problem ?? inner.Result.Name()}"),
                    };
                }
                case SpfMechanismKind.A:
                {
                    var target = d.Domain is null ? domain : await ExpandDomainAsync(d.Domain, domain).ConfigureAwait(false);
                    return await AddressMatchesAsync(target, d, countVoid: true).ConfigureAwait(false);
                }
                case SpfMechanismKind.Mx:
                {
                    var target = d.Domain is null ? domain : await ExpandDomainAsync(d.Domain, domain).ConfigureAwait(false);
                    if (!IsValidDomain(target)) { CountVoid(); return false; }
                    var mx = await dns.MxAsync(target, ct).ConfigureAwait(false);
                    ThrowIfFailed(mx, $"MX lookup of {target}");
                    if (mx.IsVoid) { CountVoid(); return false; }
                    if (mx.Records.Count > MaxNamesPerLookup) throw new SpfAbort(SpfResult.PermError, $"{target} has more than {MaxNamesPerLookup} MX records");
                    foreach (var exchange in mx.Records.OrderBy(r => r.Preference).Select(r => r.Exchange))
                    {
                        if (await AddressMatchesAsync(exchange, d, countVoid: false).ConfigureAwait(false)) return true;
                    }
                    return false;
                }
                case SpfMechanismKind.Ptr:
                {
                    var target = (d.Domain is null ? domain : await ExpandDomainAsync(d.Domain, domain).ConfigureAwait(false)).TrimEnd('.');
                    foreach (var name in await ValidatedNamesAsync().ConfigureAwait(false))
                    {
                        if (name.Equals(target, StringComparison.OrdinalIgnoreCase) || name.EndsWith("." + target, StringComparison.OrdinalIgnoreCase)) return true;
                    }
                    return false;
                }
                case SpfMechanismKind.Exists:
                {
                    var target = await ExpandDomainAsync(d.Domain!, domain).ConfigureAwait(false);
                    if (!IsValidDomain(target)) { CountVoid(); return false; }
                    // §5.7: always an A lookup, whatever the client's address family.
                    var a = await dns.AddressesAsync(target, AddressFamily.InterNetwork, ct).ConfigureAwait(false);
                    ThrowIfFailed(a, $"A lookup of {target}");
                    if (a.IsVoid) { CountVoid(); return false; }
                    return true;
                }
                default:
                    return false;
            }
        }

        private async Task<bool> AddressMatchesAsync(string host, SpfDirective d, bool countVoid)
        {
            if (!IsValidDomain(host))
            {
                if (countVoid) CountVoid();
                return false;
            }
            var lookup = await dns.AddressesAsync(host.TrimEnd('.'), ip.AddressFamily, ct).ConfigureAwait(false);
            ThrowIfFailed(lookup, $"address lookup of {host}");
            if (lookup.IsVoid)
            {
                if (countVoid) CountVoid();
                return false;
            }
            int prefix = ip.AddressFamily == AddressFamily.InterNetwork ? d.Ip4Prefix ?? 32 : d.Ip6Prefix ?? 128;
            return lookup.Records.Any(r => SpfRecord.InNetwork(ip, r, prefix));
        }

        /// <summary>
        /// The client's names confirmed by a forward lookup (§5.5): at most 10 PTR names, each kept when its
        /// A/AAAA records hold the client's address. A failed PTR lookup gives no names (the mechanism does not match).
        /// </summary>
        private async Task<List<string>> ValidatedNamesAsync()
        {
            var names = new List<string>();
            var ptr = await dns.PtrAsync(ip, ct).ConfigureAwait(false);
            if (ptr.Status != DnsLookupStatus.Records) return names;
            foreach (var name in ptr.Records.Take(MaxNamesPerLookup))
            {
                if (!IsValidDomain(name)) continue;
                var forward = await dns.AddressesAsync(name.TrimEnd('.'), ip.AddressFamily, ct).ConfigureAwait(false);
                if (forward.Records.Any(r => r.Equals(ip))) names.Add(name.TrimEnd('.'));
            }
            return names;
        }

        private async Task<string> ExpandDomainAsync(SpfMacroString spec, string domain) =>
            SpfMacroString.Truncate(await spec.ExpandAsync(letter => MacroValueAsync(letter, domain)).ConfigureAwait(false)).TrimEnd('.');

        /// <summary>
        /// The explanation of a "fail" (§6.2): the TXT record at the expanded exp= name, itself expanded.
        /// No record, several, a DNS error or a syntax error: no explanation (the result stays "fail").
        /// </summary>
        private async Task<string?> ExplainAsync(SpfMacroString exp, string domain)
        {
            try
            {
                var name = await ExpandDomainAsync(exp, domain).ConfigureAwait(false);
                if (!IsValidDomain(name)) return null;
                var txt = await dns.TxtAsync(name, ct).ConfigureAwait(false);
                if (txt.Status != DnsLookupStatus.Records || txt.Records.Count != 1) return null;
                if (SpfMacroString.Parse(txt.Records[0], forExplanation: true) is not { } text) return null;
                var expanded = await text.ExpandAsync(letter => MacroValueAsync(letter, domain)).ConfigureAwait(false);
                return expanded.All(ch => ch is >= ' ' and <= '~') ? expanded : null;
            }
            catch (SpfAbort)
            {
                return null;
            }
        }

        /// <summary>The value of a macro letter (§7.2).</summary>
        private async Task<string> MacroValueAsync(char letter, string domain) => letter switch
        {
            's' => local + "@" + senderDomain,
            'l' => local,
            'o' => senderDomain,
            'd' => domain,
            'i' => ip.AddressFamily == AddressFamily.InterNetwork ? ip.ToString() : Nibbles(ip),
            'p' => _validatedName ??= await ValidatedNameForMacroAsync(domain).ConfigureAwait(false),
            'v' => ip.AddressFamily == AddressFamily.InterNetwork ? "in-addr" : "ip6",
            'h' => helo,
            'c' => ip.ToString(),
            'r' => receiver,
            't' => time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            _ => "",
        };

        /// <summary>%{p} (§7.3): the validated name that is the domain or a subdomain of it, else any validated name, else "unknown".</summary>
        private async Task<string> ValidatedNameForMacroAsync(string domain)
        {
            var names = await ValidatedNamesAsync().ConfigureAwait(false);
            return names.FirstOrDefault(n => n.Equals(domain, StringComparison.OrdinalIgnoreCase))
                ?? names.FirstOrDefault(n => n.EndsWith("." + domain, StringComparison.OrdinalIgnoreCase))
                ?? names.FirstOrDefault()
                ?? "unknown";
        }

        /// <summary>An IPv6 address as dot-separated nibbles (§7.3: "%{i}" of 2001:db8::1 is 2.0.0.1.0.d.b.8…).</summary>
        private static string Nibbles(IPAddress address)
        {
            var sb = new StringBuilder(63);
            foreach (var b in address.GetAddressBytes())
            {
                if (sb.Length > 0) sb.Append('.');
                sb.Append("0123456789abcdef"[b >> 4]).Append('.').Append("0123456789abcdef"[b & 15]);
            }
            return sb.ToString();
        }
    }
}
