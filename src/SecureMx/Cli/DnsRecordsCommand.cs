using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using SecureMx.Config;
using SecureMx.Dkim;
using SecureMx.Mail;
using SecureMx.MtaSts;
using SecureMx.Reporting;
using SecureMx.Store;
using SecureMx.Tls;

namespace SecureMx.Cli;

/// <summary>
/// securemx dns-records DOMAIN: what a customer publishes so that mail for their domain arrives
/// through the secure MX — the MX record pointing at it, and the TLSA 3 1 1 record of its
/// certificate (DANE-EE, SPKI, SHA-256: RFC 7671 §5.1 recommends it because it survives renewals
/// with the same key). The TLSA record lives in the zone of the secure MX host, published once by
/// the provider for all customers. Then what mail programs use to find their settings: the
/// autoconfig name (served by the dashboard) and the SRV records of RFC 6186 for every configured
/// client service. During a key rollover the next key's TLSA record comes after the current one's.
/// Last, the <c>_smtp._tls</c> record that asks senders for TLS reports (RFC 8460 §3).
/// </summary>
public static class DnsRecordsCommand
{
    public static Command Create()
    {
        var data = CliOptions.Data();
        var domain = new Argument<string>("DOMAIN") { Description = "a hosted domain" };
        var cmd = new Command("dns-records", "the MX record (and the secure MX host's TLSA record) to publish for a domain") { domain, data };
        cmd.SetAction(p =>
        {
            var dir = CliOptions.RequireInstance(p.GetValue(data)!);
            var options = CliOptions.LoadConfig(dir);
            var d = StoreCommands.ParseDomain(p.GetValue(domain)!);
            var store = CliOptions.OpenStoreForReading(dir);
            var policies = new TlsPolicyRepository(store, TimeProvider.System);
            var inbound = policies.DomainInboundTls(d);
            if (inbound is null) throw new CliException($"domain {d} is not hosted here; add it with 'securemx domain add {d}'");
            var host = options.EffectiveSecureMxHostname();
            var certificate = X509CertificateLoader.LoadCertificateFromFile(ConfigLoader.ResolvePath(dir, options.Tls.Certificate));
            Console.WriteLine($"; publish in the zone of {d}: mail for {d} goes to the secure MX (TLS 1.2+ with secure ciphers only)");
            Console.WriteLine($"{d}.\tIN\tMX\t10 {host}.");
            Console.WriteLine();
            Console.WriteLine($"; published by the provider in the zone of {host} (DNSSEC-signed), once for all domains: DANE for senders that check it");
            foreach (var line in TlsaRecords(dir, host, certificate)) Console.WriteLine(line);
            if (inbound != InboundTlsSetting.Mandatory)
                Console.WriteLine($"; note: inbound TLS for {d} is still opportunistic; 'securemx policy inbound {d} mandatory' also closes the ordinary MX to insecure sessions");
            foreach (var line in ClientRecords(options, d)) Console.WriteLine(line);
            var mtaSts = policies.DomainMtaSts(d);
            var stsPolicy = HostedMtaStsPolicies.For(d, mtaSts?.Inbound ?? inbound.Value, mtaSts?.MtaStsMode ?? "", options);
            foreach (var line in MtaStsRecords(dir, options, stsPolicy)) Console.WriteLine(line);
            foreach (var line in TlsRptRecords(options, d, stsPolicy.Policy.Mode)) Console.WriteLine(line);
            foreach (var line in DkimRecords(new DkimKeyRepository(store, TimeProvider.System).List(d))) Console.WriteLine(line);
            return 0;
        });
        return cmd;
    }

    /// <summary>
    /// The DKIM key records of the domain (RFC 6376 §3.6.2.1), each after a comment that says what its key does
    /// now: active and pending keys (and retiring ones, whose mail may still be verified) must be published; a
    /// retired key's record may be removed. Nothing without keys.
    /// </summary>
    internal static IEnumerable<string> DkimRecords(IReadOnlyList<DkimKey> keys)
    {
        if (keys.Count == 0) yield break;
        yield return "";
        yield return "; DKIM keys (RFC 6376): the mail of the domain's accounts is signed with each active key";
        foreach (var key in keys)
        {
            yield return key.State switch
            {
                DkimKeyState.Active => $"; {key.Selector} ({key.Algorithm.Name()}): active, signs now",
                DkimKeyState.Pending => $"; {key.Selector} ({key.Algorithm.Name()}): pending, signs once this record is seen in DNS",
                DkimKeyState.Retiring => $"; {key.Selector} ({key.Algorithm.Name()}): retiring, no longer signs; keep the record until {(key.StateChangedAt + DkimRotation.RetiringPeriod).UtcDateTime:yyyy-MM-dd}",
                _ => $"; {key.Selector} ({key.Algorithm.Name()}): retired, the record may be removed",
            };
            yield return key.State == DkimKeyState.Retired ? "; " + DkimKeyRecord.ZoneFileLine(key) : DkimKeyRecord.ZoneFileLine(key);
        }
    }

    /// <summary>
    /// The TLSA 3 1 1 record of the current key, and of the next key when there is one, each after a
    /// comment that says which it is: both are published during a key rollover (RFC 7671 §8.1).
    /// </summary>
    internal static IEnumerable<string> TlsaRecords(string dir, string host, X509Certificate2 certificate)
    {
        var current = TlsaMatcher.DaneEeRecord(certificate);
        yield return $"; current key (the certificate served now: {certificate.Subject}, expires {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd}); the record stays valid while the key stays the same";
        yield return $"_25._tcp.{host}.\tIN\tTLSA\t{current}";
        byte[]? next = null;
        string? unreadable = null;
        try
        {
            next = NextTlsKey.TryReadSpki(dir);
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException)
        {
            unreadable = ex.Message;
        }
        if (unreadable is not null)
        {
            yield return $"; next key: {NextTlsKey.KeyFile} is not readable ({unreadable}); '{CliCommandName.Current} tls next-key --replace' makes a new one";
            yield break;
        }
        if (next is null) yield break;
        var nextRecord = TlsaMatcher.DaneEeRecord(next);
        if (nextRecord == current)
        {
            yield return $"; next key: the certificate carries it already ({NextTlsKey.KeyFile} is retired at the server's next start, reload or certificate file-watch pickup); remove the older record";
            yield break;
        }
        yield return $"; next key ({NextTlsKey.KeyFile}, not served yet): publish it next to the current one, and switch ('{CliCommandName.Current} tls rollover') only after twice the TTL (RFC 7671 §8.1)";
        yield return $"_25._tcp.{host}.\tIN\tTLSA\t{nextRecord}";
    }

    /// <summary>
    /// The MTA-STS records (RFC 8461 §3.1, §3.3): the "_mta-sts" TXT record with the policy's id, and the
    /// policy host mta-sts.DOMAIN as a CNAME to the host whose port 443 the listener answers on. Printed
    /// as records only while the listener is on and the mode is testing or enforce; with mode none,
    /// as comments, for the withdrawal of a policy published before (RFC 8461 §8.3).
    /// </summary>
    internal static IEnumerable<string> MtaStsRecords(string dir, SecureMxOptions options, HostedMtaStsPolicy policy)
    {
        var domain = policy.Domain;
        var host = options.Hostname.TrimEnd('.');
        yield return "";
        if (Endpoint.TryParseQuiet(options.Listeners.MtaSts) is not { } listener)
        {
            yield return $"; no MTA-STS records: the MTA-STS listener is off (listeners.mtaSts; serve --mta-sts ADDR:PORT), so nothing serves a policy for {domain}";
            yield break;
        }
        var certificates = ConfigLoader.ResolvePath(dir, options.MtaSts.CertificateDirectory);
        var (txt, cname) = policy.ZoneRecords(host, "\t");
        string[] records = [txt, cname];
        var mode = policy.Policy.Mode;
        var maxAge = Duration.Format(policy.Policy.MaxAge);
        if (mode == MtaStsMode.None)
        {
            yield return $"; no MTA-STS records: the policy of {domain} is none ('{CliCommandName.Current} policy mta-sts {domain} testing' starts one).";
            yield return $"; Withdrawing a policy published before: publish these with the new id and keep them for max_age ({maxAge}), so that senders learn mode none, then remove both (RFC 8461 §8.3):";
            foreach (var record in records) yield return "; " + record;
            yield break;
        }
        yield return $"; MTA-STS (RFC 8461), mode {mode.Name()}, mx {string.Join(", ", policy.Policy.Mx)}: publish in the zone of {domain}; the id changes whenever the policy does (mode, MX names, max_age {maxAge}): publish the new record then";
        yield return records[0];
        yield return $"; the policy host https://{MtaStsTxtRecord.PolicyHost(domain)}/.well-known/mta-sts.txt is served by listeners.mtaSts (now {listener}): it must answer HTTPS on port 443 of {host},";
        yield return $"; with a certificate from a public CA that names {MtaStsTxtRecord.PolicyHost(domain)}: {MtaStsTxtRecord.PolicyHost(domain)}.pem and .key in {certificates}";
        yield return records[1];
    }

    /// <summary>
    /// The <c>_smtp._tls</c> TXT record (RFC 8460 §3): where senders send their daily TLS reports about the domain —
    /// the report address (tlsReporting.reportAddress), and the HTTPS endpoint of the MTA-STS listener while it is on and
    /// the domain's MTA-STS mode is testing or enforce (the mta-sts.DOMAIN records above are printed then).
    /// </summary>
    internal static IEnumerable<string> TlsRptRecords(SecureMxOptions options, string domain, MtaStsMode mtaStsMode)
    {
        yield return "";
        var published = mtaStsMode != MtaStsMode.None;
        var rua = HostedTlsRptRecord.Rua(options, domain, published);
        yield return $"; TLS reporting (RFC 8460): senders report their TLS failures delivering to {domain} to {string.Join(" and ", rua)}; publish in the zone of {domain}";
        yield return HostedTlsRptRecord.ZoneLine(options, domain, published);
    }

    // RFC 6186 §3.4: clients try the lowest priority first, so the order says IMAP before POP3;
    // RFC 8314 §5.1: implicit TLS before STARTTLS.
    private static int SrvPriority(MailClientService s) => (s.Protocol, s.Security) switch
    {
        (MailClientProtocol.Pop3, MailClientSecurity.ImplicitTls) => 20,
        (MailClientProtocol.Pop3, _) => 30,
        (_, MailClientSecurity.ImplicitTls) => 0,
        _ => 10,
    };

    /// <summary>
    /// The records for mail programs, each block after an empty line: the autoconfig name (a CNAME to
    /// the mail access host, where the dashboard must answer on 443) and one SRV record per configured
    /// service (RFC 6186 §3; _submissions from RFC 8314 §5.1).
    /// </summary>
    internal static IEnumerable<string> ClientRecords(SecureMxOptions options, string domain)
    {
        var host = options.MailAccess.EffectiveHost(options);
        var services = MailClientServices.Offered(options);
        yield return "";
        if (!services.Any(s => s.Incoming))
        {
            yield return "; no autoconfig record: no IMAP or POP3 is configured (mailAccess.*), so there are no settings to fetch";
        }
        else if (Endpoint.TryParseQuiet(options.Listeners.Dashboard) is { } dashboard)
        {
            yield return $"; publish in the zone of {domain}: mail programs (Thunderbird and others) fetch their settings from https://autoconfig.{domain}/mail/config-v1.1.xml";
            yield return $"; the dashboard serves them (listeners.dashboard, now {dashboard}): it must answer HTTPS on port 443 of {host}, with a certificate that also names autoconfig.{domain}";
            yield return $"autoconfig.{domain}.\tIN\tCNAME\t{host}.";
        }
        else
        {
            yield return "; no autoconfig record: the dashboard, which serves the settings of mail programs, is off (listeners.dashboard)";
        }
        yield return "";
        if (services.Count == 0)
        {
            yield return "; no SRV records for mail programs: no client service is configured (mailAccess.*, listeners.submission, listeners.submissions)";
            yield break;
        }
        yield return $"; where mail programs find each service (RFC 6186; _submissions: RFC 8314): publish in the zone of {domain}; the lowest priority is tried first";
        foreach (var s in services)
            yield return $"{s.SrvService}._tcp.{domain}.\tIN\tSRV\t{SrvPriority(s)} 1 {s.Port} {host}.";
    }
}
