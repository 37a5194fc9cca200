using System.Text.RegularExpressions;
using MailKit.Security;
using SecureMx.IntegrationTests.Dns;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Delivery;

/// <summary>
/// Outbound over IPv6 end to end: the DNSSEC test bed publishes a domain whose only MX host has only an
/// AAAA record (::1) and a TLSA 3 1 1 record, a real Postfix listens on [::1]:25 with that key, and a
/// running SecureMx — with an IPv4 delivery.sourceAddress, which must not keep the mail from an IPv6-only
/// host — delivers to it over DANE-verified TLS. Postfix's Received header is the independent witness.
/// </summary>
public sealed class Ipv6DeliveryTests
{
    private const string Domain = "v6only.test";
    private const string MxHost = "mx.v6only.test";

    [Fact]
    public async Task MailToAnAaaaOnlyMxHostIsDeliveredOverIpv6WithDane()
    {
        using var cert = TestCertificates.SelfSigned(MxHost);
        var certDir = Directory.CreateTempSubdirectory("securemx-v6-cert-").FullName;
        try
        {
            var files = cert.WritePem(certDir, "v6");
            await using var dns = await DnsTestBed.StartAsync(["127.0.66", "127.0.67", "127.0.68"], records:
            [
                $"{Domain}. MX 10 {MxHost}.",
                $"{MxHost}. AAAA ::1",
                $"_25._tcp.{MxHost}. TLSA {cert.TlsaDaneEe}",
            ]);
            await using var peer = await PostfixPeer.StartMailboxAsync("[::1]:25", MxHost, Domain, files);
            await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"], cfg =>
            {
                SecureMxInstance.UseTestBedAndSecondsScaleQueue(cfg, dns.Resolver.ToString(), expireAfter: "60s");
                // A source of the other family: it applies to IPv4 connections only.
                cfg["delivery"]!["sourceAddress"] = "127.0.0.1";
            }, submission: true);
            await mx.StartAsync();

            var token = "t" + Guid.NewGuid().ToString("N")[..12];
            var rcpt = $"{token}@{Domain}";
            using (var client = await SubmissionClient.LoginAsync(mx, SecureSocketOptions.SslOnConnect, "alice@example.test"))
            {
                await client.SendAsync(SubmissionClient.Message(token, "alice@example.test", [rcpt]), "alice@example.test", [rcpt]);
            }

            var stored = await peer.WaitForMessageAsync(token, TimeSpan.FromSeconds(30));
            var received = Regex.Replace(Regex.Match(stored, @"^Received: .*(\n[ \t].*)*", RegexOptions.Multiline).Value, @"\r?\n[ \t]+", " ");
            TestContext.Current.TestOutputHelper?.WriteLine(received);
            // Postfix saw our client on ::1, over TLS 1.3.
            Assert.Matches(@"^Received: from mx\.securemx\.test \(\S+ \[IPv6:::1\]\) \(using TLSv1\.3 with cipher ", received);

            var deadline = DateTime.UtcNow.AddSeconds(10);
            string log;
            while (true)
            {
                log = (await mx.Cli("log", "--recipient", rcpt)).StdOut;
                if (log.Contains(" delivered ", StringComparison.Ordinal) || DateTime.UtcNow > deadline) break;
                await Task.Delay(100);
            }
            TestContext.Current.TestOutputHelper?.WriteLine(log);
            Assert.Matches($@"to=<{Regex.Escape(rcpt)}> relay={Regex.Escape(MxHost)}\[::1\] delivered tls=dane TLSv1\.3 ", log);
        }
        finally
        {
            Directory.Delete(certDir, recursive: true);
        }
    }
}
