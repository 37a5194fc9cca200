using System.CommandLine;
using SecureMx.Spool;
using SecureMx.Tls;

namespace SecureMx.Cli;

/// <summary>
/// securemx tls next-key / tls rollover: changing the instance's key without breaking a published
/// TLSA 3 1 1 record ("current + next", RFC 7671 §8.1). Two commands, not one with a switch, because
/// they are two moments at least twice the TTL apart: next-key before the new record is published,
/// rollover after it is in every cache.
/// </summary>
public static class TlsCommands
{
    public static Command Create() => new("tls", "the instance's certificate and key: key rollover without a broken TLSA record")
    {
        NextKey(),
        Rollover(),
    };

    private static Command NextKey()
    {
        var data = CliOptions.Data();
        var replace = new Option<bool>("--replace") { Description = "replace an existing next key (its published TLSA record, if any, goes stale)" };
        var algorithm = new Option<string?>("--algorithm") { Description = "rsa or ecdsa (default: the current key's family and size)", HelpName = "rsa|ecdsa" };
        var cmd = new Command("next-key", $"create the next private key ({NextTlsKey.KeyFile}) and a CSR for it; print its TLSA record") { data, replace, algorithm };
        cmd.SetAction(p =>
        {
            var dir = CliOptions.RequireInstance(p.GetValue(data)!);
            var options = CliOptions.LoadConfig(dir);
            var made = TlsKeyRollover.CreateNextKey(dir, options, p.GetValue(replace), p.GetValue(algorithm), DurableFiles.Default);
            var host = options.EffectiveSecureMxHostname().TrimEnd('.');
            var securemx = CliCommandName.Current;
            Console.WriteLine($"created the next key {made.KeyPath} ({made.Algorithm}, mode 0600) and its CSR {made.CsrPath} (for {string.Join(", ", made.Names)})");
            Console.WriteLine();
            Console.WriteLine($"; 1. publish this record NEXT TO the current one in the zone of {host} (both, DNSSEC-signed; '{securemx} dns-records DOMAIN --data {dir}' prints both):");
            Console.WriteLine($"_25._tcp.{host}.\tIN\tTLSA\t{made.Tlsa}");
            Console.WriteLine("; 2. wait at least twice the TTL of the TLSA RRset, so that no resolver caches the old set alone (RFC 7671 §8.1)");
            Console.WriteLine("; 3. switch to the next key:");
            Console.WriteLine($";    self-signed: {securemx} tls rollover --data {dir}   (a new self-signed certificate for the next key)");
            Console.WriteLine($";    from a CA:   certbot certonly --csr {made.CsrPath} ... (or give the CSR to your CA), then");
            Console.WriteLine($";                 {securemx} tls rollover --data {dir} --cert ISSUED.pem   (certificate chain, leaf first)");
            Console.WriteLine(";    then reload or restart the server (systemctl reload securemx) so that it serves the new certificate");
            Console.WriteLine("; 4. remove the old TLSA record");
            return 0;
        });
        return cmd;
    }

    private static Command Rollover()
    {
        var data = CliOptions.Data();
        var cert = new Option<string?>("--cert") { Description = "the certificate (PEM chain, leaf first) a CA issued for the next key; without it: a new self-signed one", HelpName = "FILE" };
        var cmd = new Command("rollover", "make the next key current: install its certificate (or a new self-signed one) as tls.certificate and tls.key") { data, cert };
        cmd.SetAction(p =>
        {
            // Read as the caller (root may hold it in /root), before RequireInstance switches to the instance owner.
            var issued = p.GetValue(cert) is { } file ? IssuedCertificate.Read(file) : null;
            var dir = CliOptions.RequireInstance(p.GetValue(data)!);
            var options = CliOptions.LoadConfig(dir);
            var done = TlsKeyRollover.Rollover(dir, options, issued, TimeProvider.System, DurableFiles.Default);
            var host = options.EffectiveSecureMxHostname().TrimEnd('.');
            if (done.OldTlsa is null)
            {
                Console.WriteLine($"the certificate in {done.CertificatePath} carries the next key already; retired {NextTlsKey.KeyFile}");
                Console.WriteLine($"; its record: _25._tcp.{host}.\tIN\tTLSA\t{done.Tlsa}; remove the older one once the server serves it");
                return 0;
            }
            Console.WriteLine($"installed the next key as {done.KeyPath} with {(done.SelfSigned ? "a new self-signed certificate" : "the issued certificate")} in {done.CertificatePath}; retired {NextTlsKey.KeyFile}{(done.AlreadyRetired ? " (already retired by the running server)" : "")}");
            Console.WriteLine("; reload or restart the server (systemctl reload securemx) so that it serves it; then the old record can go:");
            Console.WriteLine($"; keep:   _25._tcp.{host}.\tIN\tTLSA\t{done.Tlsa}");
            Console.WriteLine($"; remove: _25._tcp.{host}.\tIN\tTLSA\t{done.OldTlsa}");
            return 0;
        });
        return cmd;
    }
}
