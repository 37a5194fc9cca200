using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Store;
using SecureMx.Tls;

namespace SecureMx.Cli;

/// <summary>
/// securemx dns-records DOMAIN: what a customer publishes so that mail for their domain arrives
/// through the secure MX — the MX record pointing at it, and the TLSA 3 1 1 record of its
/// certificate (DANE-EE, SPKI, SHA-256: RFC 7671 §5.1 recommends it because it survives renewals
/// with the same key). The TLSA record lives in the zone of the secure MX host, published once by
/// the provider for all customers.
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
            var policies = new TlsPolicyRepository(CliOptions.OpenStore(dir), TimeProvider.System);
            var inbound = policies.DomainInboundTls(d);
            if (inbound is null) throw new CliException($"domain {d} is not hosted here; add it with 'securemx domain add {d}'");
            var host = options.EffectiveSecureMxHostname();
            var certificate = X509CertificateLoader.LoadCertificateFromFile(ConfigLoader.ResolvePath(dir, options.Tls.Certificate));
            Console.WriteLine($"; publish in the zone of {d}: mail for {d} goes to the secure MX (TLS 1.2+ with secure ciphers only)");
            Console.WriteLine($"{d}.\tIN\tMX\t10 {host}.");
            Console.WriteLine();
            Console.WriteLine($"; published by the provider in the zone of {host} (DNSSEC-signed), once for all domains: DANE for senders that check it");
            Console.WriteLine($"_25._tcp.{host}.\tIN\tTLSA\t{TlsaMatcher.DaneEeRecord(certificate)}");
            Console.WriteLine();
            Console.WriteLine($"; certificate: {certificate.Subject}, expires {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd}; the TLSA record stays valid while the key stays the same");
            if (inbound != InboundTlsSetting.Mandatory)
                Console.WriteLine($"; note: inbound TLS for {d} is still opportunistic; 'securemx policy inbound {d} mandatory' also closes the ordinary MX to insecure sessions");
            return 0;
        });
        return cmd;
    }
}
