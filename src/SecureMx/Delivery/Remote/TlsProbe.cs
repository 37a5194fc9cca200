using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Serialization;
using SecureMx.Client;
using SecureMx.Config;
using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.MtaSts;
using SecureMx.Tls;

namespace SecureMx.Delivery.Remote;

/// <summary>
/// What one MX address showed when probed. With an MTA-STS policy (RFC 8461 §4.1, §4.2):
/// <paramref name="MtaStsListed"/> whether the policy lists the host, <paramref name="PkixValid"/> and
/// <paramref name="PkixDetail"/> whether its certificate is PKIX-valid for the MX name (null: no certificate seen).
/// </summary>
public sealed record ProbedAddress(
    string Host, int Preference, string Address, string AddressDnssec, string Tlsa, IReadOnlyList<string> TlsaRecords,
    string? Error, bool StartTls, string? Protocol, string? Cipher, bool StrictTls, string? StrictFailure,
    string? CertificateSubject, string? CertificateIssuer, string? SpkiSha256, string? CertificateNotAfter, bool? DaneVerified, string? DaneDetail,
    bool? MtaStsListed = null, bool? PkixValid = null, string? PkixDetail = null)
{
    /// <summary>With an MTA-STS policy: what <see cref="MtaStsEnforceRule"/> holds against the address under enforce (null: not judged, no address).</summary>
    [JsonIgnore]
    public MtaStsHostFault? MtaStsEnforce { get; init; }
}

/// <summary>
/// The answer to "would mandatory TLS work for this domain, would DANE verify?". A verdict is null
/// ("cannot judge") when a DNS lookup it depends on failed: delivery would wait for DNS, so the
/// probe cannot tell what it would meet.
/// </summary>
public sealed record ProbeReport(string Domain, string Mx, string MxDnssec, IReadOnlyList<ProbedAddress> Addresses,
    bool? MandatoryTlsWorks, string MandatoryTlsVerdict, bool? DaneVerifies, string DaneVerdict, ProbeMtaSts? MtaSts = null)
{
    /// <summary>Every verdict could be judged (no lookup failed).</summary>
    public bool Judged => MandatoryTlsWorks is not null && DaneVerifies is not null && MtaSts?.Judged != false;
}

/// <summary>
/// `securemx probe DOMAIN`: the MX hosts and addresses of a domain with their DNSSEC status and TLSA
/// records, and per address what STARTTLS gives — protocol, cipher, certificate, whether the strict
/// profile (TLS 1.2+, ECDHE, AEAD) can be negotiated, and whether the certificate matches the TLSA
/// records. The same DNS rules and client as delivery, so the verdict is what delivery would do.
/// With <paramref name="mtaSts"/> also the domain's MTA-STS policy, fetched now (RFC 8461 §3), and per
/// host whether it is listed and its certificate PKIX-valid under <paramref name="trust"/>.
/// </summary>
public sealed class TlsProbe(IMailDnsResolver dns, SecureMxOptions options, TimeProvider time, IMtaStsPolicyFetcher? mtaSts = null, PkixTrust? trust = null)
{
    private readonly PkixTrust _trust = trust ?? PkixTrust.SystemOnly;

    private TimeSpan Timeout => TimeSpan.FromSeconds(options.Delivery.ConnectTimeoutSeconds);

    public async Task<ProbeReport> ProbeAsync(string domain, CancellationToken ct)
    {
        var (discovery, fetched) = mtaSts is null ? (null, null) : await DiscoverAsync(mtaSts, domain, ct).ConfigureAwait(false);
        var stsPolicy = fetched?.Policy;
        var mx = await dns.ResolveMxAsync(domain, ct).ConfigureAwait(false);
        var mxText = mx.Failure is { } f ? $"{f.Enhanced} {f.Text}" : mx.Kind == MxResolutionKind.Implicit ? $"no MX: implicit MX {domain}" : string.Join(", ", mx.Hosts.Select(h => $"{h.Preference} {h.Name}"));
        // Lookups that failed (SERVFAIL, timeout, no resolver): delivery would wait for them, so
        // nothing can be said about what it would meet. Never reported as "insecure" or "no".
        var failedLookups = new List<string>();
        if (mx.Kind == MxResolutionKind.TemporaryFailure) failedLookups.Add($"the MX lookup of {domain} failed: {mx.Reason}");
        var results = new List<ProbedAddress>();
        foreach (var host in mx.Targets)
        {
            var addresses = await dns.ResolveAddressesAsync(host.Name, ct).ConfigureAwait(false);
            var tlsa = mx.DaneAppliesTo(addresses) ? await dns.ResolveTlsaAsync(host.Name, options.Delivery.SmtpPort, ct).ConfigureAwait(false) : null;
            if (addresses.IsTemporaryFailure) failedLookups.Add($"the address lookup of {host.Name} failed: {addresses.FailureReason}");
            if (tlsa?.Kind == TlsaResolutionKind.TemporaryFailure) failedLookups.Add($"the TLSA lookup of {tlsa.Name} failed: {tlsa.Reason}");
            var tlsaText = tlsa is null ? "not looked up (MX or address records not DNSSEC-secure)" : tlsa.Kind switch
            {
                TlsaResolutionKind.Secure => "secure",
                TlsaResolutionKind.SecureNone => "none (securely absent)",
                TlsaResolutionKind.Insecure => "insecure (ignored)",
                _ => "lookup failed: " + tlsa.Reason,
            };
            var records = tlsa?.Records.Select(r => r.ToString()).ToList() ?? [];
            var addressDnssec = addresses.IsTemporaryFailure ? Unknown : Sec(addresses.Security);
            if (!addresses.HasAddresses)
            {
                results.Add(Empty(host, "-", addressDnssec, tlsaText, records, addresses.Failure?.Text ?? "no address"));
                continue;
            }
            foreach (var ip in addresses.Addresses)
            {
                results.Add(await ProbeAddressAsync(host, ip, domain, addressDnssec, tlsaText, records, tlsa, stsPolicy, ct).ConfigureAwait(false));
            }
        }
        var mxDnssec = mx.Kind == MxResolutionKind.TemporaryFailure ? Unknown : Sec(mx.Security);
        if (failedLookups.Count > 0)
        {
            var why = "cannot judge: " + string.Join("; ", failedLookups) + " (delivery would wait for DNS, never downgrade)";
            return new ProbeReport(domain, mxText, mxDnssec, results, null, why, null, why, MtaStsVerdict(domain, discovery, fetched, results, why));
        }

        var reachable = results.Where(r => r.Error is null).ToList();
        var strict = reachable.Where(r => r.StrictTls).ToList();
        var (mandatoryOk, mandatoryText) =
            results.Count == 0 ? (false, "no: " + (mx.Failure?.Text ?? "no MX host"))
            : strict.Count == results.Count ? (true, "yes: every MX address offers TLS 1.2 or newer with secure ciphers")
            : strict.Count > 0 ? (true, $"yes, but only through {string.Join(", ", strict.Select(r => $"{r.Host}[{r.Address}]").Distinct())}; " +
                string.Join("; ", results.Except(strict).Select(r => $"{r.Host}[{r.Address}]: {Lacks(r)}")))
            : (false, "no: " + string.Join("; ", results.Select(r => $"{r.Host}[{r.Address}]: {Lacks(r)}")));

        var withTlsa = results.Where(r => r.TlsaRecords.Count > 0).ToList();
        var (daneOk, daneText) =
            mx.Security != DnsSecurity.Secure && mx.Kind != MxResolutionKind.Implicit ? (false, $"no: the MX records of {domain} are not DNSSEC-signed")
            : withTlsa.Count == 0 ? (false, "no: no MX host publishes TLSA records")
            : withTlsa.Count < results.Count ? (withTlsa.All(r => r.DaneVerified == true), "partly: only some MX hosts publish TLSA records")
            : withTlsa.All(r => r.DaneVerified == true) ? (true, "yes: every MX address matches its TLSA records")
            : (false, "no: " + string.Join("; ", withTlsa.Where(r => r.DaneVerified != true).Select(r => $"{r.Host}[{r.Address}]: {r.DaneDetail ?? r.Error}")));
        return new ProbeReport(domain, mxText, mxDnssec, results, mandatoryOk, mandatoryText, daneOk, daneText, MtaStsVerdict(domain, discovery, fetched, results, null));
    }

    /// <summary>The TXT record, then the policy over HTTPS when there is one (fetched now, never cached: the probe changes nothing).</summary>
    private static async Task<(MtaStsDiscovery, MtaStsFetchResult?)> DiscoverAsync(IMtaStsPolicyFetcher fetcher, string domain, CancellationToken ct)
    {
        var discovery = await fetcher.DiscoverAsync(domain, ct).ConfigureAwait(false);
        return discovery.Kind == MtaStsDiscoveryKind.Record ? (discovery, await fetcher.FetchAsync(domain, ct).ConfigureAwait(false)) : (discovery, null);
    }

    /// <summary>
    /// "Would MTA-STS (enforce) deliver?" (RFC 8461 §4): yes when <see cref="MtaStsEnforceRule"/>, the rule
    /// delivery applies, passes at least one MX address: DANE-verified where DANE applies (§2), else
    /// listed, strict TLS and a PKIX-valid certificate for its name. <paramref name="dnsFailure"/>: a DNS
    /// lookup failed, so it cannot be judged.
    /// </summary>
    private static ProbeMtaSts? MtaStsVerdict(string domain, MtaStsDiscovery? discovery, MtaStsFetchResult? fetched, IReadOnlyList<ProbedAddress> results, string? dnsFailure)
    {
        if (discovery is null) return null;
        var owner = MtaStsTxtRecord.OwnerName(domain);
        switch (discovery.Kind)
        {
            case MtaStsDiscoveryKind.TemporaryFailure:
                return new ProbeMtaSts("lookup failed: " + discovery.Reason, null, null, [], null, null, null, false,
                    $"cannot judge: the TXT lookup of {owner} failed: {discovery.Reason}");
            case MtaStsDiscoveryKind.NoRecord:
                return new ProbeMtaSts("none", null, null, [], null, null, null, true, $"no policy: {owner} has no v=STSv1 record; MTA-STS plays no part");
            case MtaStsDiscoveryKind.Invalid:
                return new ProbeMtaSts("invalid: " + discovery.Reason, null, null, [], null, null, null, true, $"no policy: the TXT record is not valid ({discovery.Reason}); senders treat that as no policy (RFC 8461 §3.1)");
        }
        var id = discovery.Record!.Id;
        var txt = discovery.Record.ToText();
        if (fetched?.Policy is not { } policy)
        {
            var failure = fetched?.Failure?.ToString() ?? "no answer";
            return new ProbeMtaSts(txt, id, null, [], null, failure, null, true,
                $"no policy to be had: {failure}; delivery goes on as without MTA-STS unless a policy is cached (RFC 8461 §5)");
        }
        ProbeMtaSts Of(bool? delivers, bool judged, string verdict) =>
            new(txt, id, policy.Mode.Name(), policy.Mx, (long)policy.MaxAge.TotalSeconds, null, delivers, judged, verdict);
        if (policy.Mode == MtaStsMode.None) return Of(null, true, "mode none: the domain switched MTA-STS off");
        if (dnsFailure is not null) return Of(null, false, dnsFailure);
        var note = policy.Mode == MtaStsMode.Testing ? " (mode testing: delivered anyway; this is what enforce would do)" : "";
        var passing = results.Where(r => r.MtaStsEnforce == MtaStsHostFault.None).ToList();
        if (results.Count == 0) return Of(false, true, "no: no MX host" + note);
        if (passing.Count == results.Count) return Of(true, true, "yes: every MX address is listed and has a certificate valid (PKIX) for its name, or is DANE-verified" + note);
        var failing = string.Join("; ", results.Except(passing).Select(r => $"{r.Host}[{r.Address}]: {MtaStsLacks(r)}"));
        return passing.Count > 0
            ? Of(true, true, $"yes, but only through {string.Join(", ", passing.Select(r => $"{r.Host}[{r.Address}]").Distinct())}; {failing}{note}")
            : Of(false, true, $"no: {failing}{note}");
    }

    private static string MtaStsLacks(ProbedAddress r) => r.MtaStsEnforce switch
    {
        MtaStsHostFault.NotListed => "not listed in the policy",
        _ when r.Error is not null => r.Error,
        _ when !r.StartTls => "no STARTTLS",
        MtaStsHostFault.DaneNotVerified => $"DANE applies (RFC 8461 §2) and does not verify: {r.DaneDetail ?? "no certificate"}",
        MtaStsHostFault.NoTls or MtaStsHostFault.BelowStrictTls => "no TLS 1.2+ with secure ciphers",
        MtaStsHostFault.CertificateNotValid => r.PkixDetail ?? "certificate not valid",
        _ => "no certificate",
    };

    /// <summary>The DNSSEC status of an answer that never came.</summary>
    private const string Unknown = "unknown (lookup failed)";

    private static string Sec(DnsSecurity s) => s == DnsSecurity.Secure ? "secure" : "insecure";

    private static string Lacks(ProbedAddress r) =>
        r.Error is not null ? r.Error
        : !r.StartTls ? "no STARTTLS"
        : r.Protocol is null ? "TLS handshake failed: " + r.StrictFailure
        : $"only {r.Protocol} with {r.Cipher}";

    private static ProbedAddress Empty(MxHost host, string address, string sec, string tlsa, IReadOnlyList<string> records, string? error) =>
        new(host.Name, host.Preference, address, sec, tlsa, records, error, false, null, null, false, null, null, null, null, null, null, null);

    private async Task<ProbedAddress> ProbeAddressAsync(MxHost host, IPAddress ip, string domain, string sec, string tlsaText, IReadOnlyList<string> records,
        TlsaResolution? tlsa, MtaStsPolicy? policy, CancellationToken ct)
    {
        bool? listed = policy is null ? null : policy.AllowsMx(host.Name);
        var usable = tlsa?.Kind == TlsaResolutionKind.Secure ? tlsa.Records.Where(TlsaMatcher.IsUsable).ToList() : [];
        // What enforce would make of it (RFC 8461 §4), by the rule delivery applies; DANE, where it applies, alone (§2).
        MtaStsHostFault? Enforce(bool? daneVerified, NegotiatedTls? tls, PkixVerdict? pkix) =>
            listed is null ? null : MtaStsEnforceRule.Check(usable.Count > 0 ? daneVerified == true : null, listed.Value, tls, pkix);
        // First with the strict profile: what mandatory TLS would get.
        var strict = await HandshakeAsync(host.Name, ip, strictProfile: true, ct).ConfigureAwait(false);
        if (strict.Error is not null) return Empty(host, ip.ToString(), sec, tlsaText, records, strict.Error) with { MtaStsListed = listed, MtaStsEnforce = Enforce(false, null, null) };
        if (!strict.StartTls) return Empty(host, ip.ToString(), sec, tlsaText, records, null) with { MtaStsListed = listed, MtaStsEnforce = Enforce(false, null, null) };
        var seen = strict;
        if (strict.Tls is null)
        {
            // What the server does offer, with the opportunistic profile (what may/dane without TLSA would get, weak TLS included).
            seen = await HandshakeAsync(host.Name, ip, strictProfile: false, ct).ConfigureAwait(false);
        }
        bool? daneVerified = null;
        string? daneDetail = null;
        if (usable.Count > 0 && seen.Leaf is not null)
        {
            var verdict = TlsaMatcher.Verify(usable, seen.Leaf, seen.Presented, [host.Name, domain], time.GetUtcNow());
            (daneVerified, daneDetail) = (verdict.Verified, verdict.Detail);
        }
        else if (tlsa?.Kind == TlsaResolutionKind.Secure)
        {
            (daneVerified, daneDetail) = (false, "no usable TLSA records");
        }
        var probed = new ProbedAddress(host.Name, host.Preference, ip.ToString(), sec, tlsaText, records, null, true,
            seen.Tls?.Protocol, seen.Tls?.CipherSuite, strict.Tls?.IsStrict == true, strict.Tls is null ? strict.HandshakeError : null,
            seen.Leaf?.Subject, seen.Leaf?.Issuer,
            seen.Leaf is null ? null : Convert.ToHexStringLower(SHA256.HashData(seen.Leaf.PublicKey.ExportSubjectPublicKeyInfo())),
            seen.Leaf?.NotAfter.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            daneVerified, daneDetail, listed);
        PkixVerdict? pkix = null;
        if (policy is not null && seen.Leaf is not null)
        {
            // What MTA-STS asks of the certificate (RFC 8461 §4.2): PKIX-valid for the MX name, under the same anchors as delivery.
            pkix = _trust.Validate(seen.Leaf, seen.Presented, host.Name, time.GetUtcNow());
            probed = probed with { PkixValid = pkix.Value.Valid, PkixDetail = pkix.Value.Detail };
        }
        // Enforce handshakes with the strict profile: without a strict session it has none (with one, seen is it).
        return probed with { MtaStsEnforce = Enforce(daneVerified, strict.Tls, pkix) };
    }

    private sealed record Handshake(string? Error, bool StartTls, NegotiatedTls? Tls, string? HandshakeError, X509Certificate2? Leaf, IReadOnlyList<X509Certificate2> Presented);

    private async Task<Handshake> HandshakeAsync(string host, IPAddress ip, bool strictProfile, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(Timeout);
        SmtpClientConnection connection;
        try
        {
            connection = await SmtpClientConnection.ConnectAsync(new IPEndPoint(ip, options.Delivery.SmtpPort), options.Hostname, null, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or IOException or SmtpClientException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            return new Handshake(ex is OperationCanceledException ? "connection timed out" : ex.Message, false, null, null, null, []);
        }
        await using (connection.ConfigureAwait(false))
        {
            if (!connection.Capabilities.StartTls) return new Handshake(null, false, null, null, null, []);
            X509Certificate2? leaf = null;
            var presented = new List<X509Certificate2>();
            var requirement = new HostTlsRequirement(strictProfile ? HostTlsMode.Encrypt : HostTlsMode.Opportunistic, strictProfile, []);
            var tlsOptions = requirement.ClientOptions(host, host, time, _ => { });
            tlsOptions.RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
            {
                if (certificate is not null) leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                foreach (var c in chain?.ChainPolicy.ExtraStore ?? []) presented.Add(X509CertificateLoader.LoadCertificate(c.RawData));
                return true;
            };
            try
            {
                await connection.StartTlsAsync(tlsOptions, TlsVerification.Encrypted, timeout.Token).ConfigureAwait(false);
                try { await connection.QuitAsync(timeout.Token).ConfigureAwait(false); } catch (Exception ex) when (ex is IOException or SmtpClientException or OperationCanceledException) { }
                return new Handshake(null, true, connection.Tls, null, leaf, presented);
            }
            catch (Exception ex) when (ex is AuthenticationException or IOException or SmtpClientException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                return new Handshake(null, true, null, RemoteDelivery.Innermost(ex), leaf, presented);
            }
        }
    }
}
