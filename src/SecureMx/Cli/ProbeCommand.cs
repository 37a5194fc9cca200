using System.CommandLine;
using System.Text.Json;
using SecureMx.Config;
using SecureMx.Delivery.Remote;
using SecureMx.Dns;
using SecureMx.MtaSts;
using SecureMx.Tls;

namespace SecureMx.Cli;

/// <summary>
/// securemx probe DOMAIN [--json]: what delivery to a domain would meet — MX hosts and addresses,
/// DNSSEC, TLSA, STARTTLS, protocol, cipher, certificate, DANE match, the MTA-STS TXT record and policy
/// (fetched now, not cached), MX listing and PKIX validity — and a verdict on mandatory TLS, DANE and
/// MTA-STS (enforce). Uses the instance's resolver (dns) and delivery settings. Exit status: 0 when
/// both verdicts were judged (whatever they say), <see cref="CannotJudge"/> when a DNS lookup failed
/// and a verdict cannot be judged, 1 for an operator error.
/// </summary>
public static class ProbeCommand
{
    /// <summary>Exit status when a lookup failed: scripts must not read "cannot judge" as "no".</summary>
    public const int CannotJudge = 2;

    public static Command Create()
    {
        var data = CliOptions.Data();
        var domain = new Argument<string>("DOMAIN") { Description = "a recipient domain" };
        var json = new Option<bool>("--json") { Description = "one JSON document for scripts" };
        var cmd = new Command("probe", "check a domain's MX hosts: DNSSEC, TLSA, MTA-STS, STARTTLS, TLS, certificate; would mandatory TLS work, would DANE verify, would MTA-STS (enforce) deliver") { domain, json, data };
        cmd.SetAction(async (p, ct) =>
        {
            var dir = CliOptions.RequireInstance(p.GetValue(data)!);
            var options = CliOptions.LoadConfig(dir);
            var d = StoreCommands.ParseDomain(p.GetValue(domain)!);
            var resolver = new MailDnsResolver(options.Dns);
            // The anchors delivery trusts (delivery.trustAnchorsFile, relative to the data directory as serve reads it).
            var trust = InstanceTrust.Load(dir, options);
            var probe = new TlsProbe(resolver, options, TimeProvider.System, new MtaStsPolicyFetcher(resolver, trust, options, TimeProvider.System), trust);
            var report = await probe.ProbeAsync(d, ct);
            if (p.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(report, ConfigLoader.Json));
            else Print(report);
            return report.Judged ? 0 : CannotJudge;
        });
        return cmd;
    }

    private static void Print(ProbeReport r)
    {
        Console.WriteLine($"domain:   {r.Domain}");
        Console.WriteLine($"MX:       {r.Mx} (DNSSEC: {r.MxDnssec})");
        if (r.MtaSts is { } sts)
        {
            Console.WriteLine($"MTA-STS:  TXT {MtaStsTxtRecord.OwnerName(r.Domain)}: {sts.Txt}");
            if (sts.Mode is not null) Console.WriteLine($"          policy: {sts.Mode} (id {sts.PolicyId}, max_age {sts.MaxAgeSeconds} s), mx: {(sts.Mx.Count == 0 ? "none" : string.Join(", ", sts.Mx))}");
            else if (sts.Failure is not null) Console.WriteLine($"          policy: not fetched: {sts.Failure}");
        }
        foreach (var a in r.Addresses)
        {
            Console.WriteLine();
            Console.WriteLine($"host {a.Host} [{a.Address}] (preference {a.Preference}, address records: {a.AddressDnssec})");
            if (a.MtaStsListed is { } listed) Console.WriteLine($"  MTA-STS:     {(listed ? "listed in the policy" : "NOT LISTED in the policy")}");
            Console.WriteLine($"  TLSA:        {a.Tlsa}");
            foreach (var t in a.TlsaRecords) Console.WriteLine($"               {t}");
            if (a.Error is not null)
            {
                Console.WriteLine($"  connection:  {a.Error}");
                continue;
            }
            Console.WriteLine($"  STARTTLS:    {(a.StartTls ? "offered" : "not offered")}");
            if (!a.StartTls) continue;
            Console.WriteLine($"  TLS:         {(a.Protocol is null ? "handshake failed" : $"{a.Protocol} with {a.Cipher}")}");
            Console.WriteLine($"  strict TLS:  {(a.StrictTls ? "yes (TLS 1.2+, ECDHE, AEAD)" : "no" + (a.StrictFailure is null ? "" : $" ({a.StrictFailure})"))}");
            if (a.CertificateSubject is not null)
            {
                Console.WriteLine($"  certificate: {a.CertificateSubject}");
                Console.WriteLine($"  issuer:      {a.CertificateIssuer}");
                Console.WriteLine($"  expires:     {a.CertificateNotAfter}");
                Console.WriteLine($"  SPKI:        {a.SpkiSha256} (SHA-256, as in TLSA 3 1 1)");
            }
            if (a.DaneVerified is { } v) Console.WriteLine($"  DANE:        {(v ? "verified" : "FAILED")}: {a.DaneDetail}");
            if (a.PkixValid is { } pkix) Console.WriteLine($"  PKIX:        {(pkix ? "valid" : "NOT VALID")}: {a.PkixDetail}");
        }
        Console.WriteLine();
        Console.WriteLine($"mandatory TLS would work: {r.MandatoryTlsVerdict}");
        Console.WriteLine($"DANE would verify:        {r.DaneVerdict}");
        if (r.MtaSts is { } verdict) Console.WriteLine($"MTA-STS (enforce) would deliver: {verdict.Verdict}");
    }
}
