using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using SecureMx.IntegrationTests.Support;
using SecureMx.MtaSts;
using SecureMx.Tls;

namespace SecureMx.IntegrationTests.Hosting;

/// <summary>
/// The MTA-STS policy host of the hosted domains (issue 16, items 2 and 4): a real `securemx serve`
/// with its HTTPS listener on 127.0.16.1 (this class's own loopback address), certificates in
/// DIR/tls/mta-sts chosen by SNI, fetched with HttpClient and with raw TLS for what a client should
/// not send.
/// </summary>
public sealed class MtaStsListenerTests(ITestOutputHelper output)
{
    private const string Domain = "example.test";
    private const string PolicyHost = "mta-sts." + Domain;
    private const string SecureMxHost = "secure.securemx.test";

    private static IPEndPoint FreeListener()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Parse("127.0.16.1"), 0));
        return (IPEndPoint)s.LocalEndPoint!;
    }

    private static Task<SecureMxInstance> CreateAsync(IPEndPoint? listenerInConfig) =>
        SecureMxInstance.CreateAsync(Domain, secureMxHostname: SecureMxHost, configure: cfg =>
        {
            if (listenerInConfig is not null) cfg["listeners"]!["mtaSts"] = Net.Text(listenerInConfig);
            cfg["mtaSts"] = new JsonObject { ["maxAge"] = "1d" };
        });

    private static string CertificateDirectory(SecureMxInstance mx) => Path.Combine(mx.DataDir, "tls", "mta-sts");

    /// <summary>A self-signed certificate for <paramref name="subject"/> as NAME.pem and NAME.key, written as certbot's deploy hook would (rename into place); the certificate.</summary>
    private static X509Certificate2 InstallCertificate(SecureMxInstance mx, string name, string? subject = null)
    {
        var dir = Directory.CreateDirectory(CertificateDirectory(mx)).FullName;
        var (cert, key) = CertificateFactory.CreateSelfSigned(subject ?? name, TimeProvider.System);
        File.WriteAllText(Path.Combine(dir, name + ".key.tmp"), key);
        File.Move(Path.Combine(dir, name + ".key.tmp"), Path.Combine(dir, name + ".key"), overwrite: true);
        File.WriteAllText(Path.Combine(dir, name + ".pem.tmp"), cert);
        File.Move(Path.Combine(dir, name + ".pem.tmp"), Path.Combine(dir, name + ".pem"), overwrite: true);
        return X509Certificate2.CreateFromPem(cert);
    }

    /// <summary>An HttpClient that reaches <paramref name="listener"/> for any name, sends the URL's host as SNI and Host, and trusts exactly <paramref name="trusted"/>.</summary>
    private static HttpClient Client(IPEndPoint listener, X509Certificate2 trusted)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(listener, ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                CertificateChainPolicy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, CustomTrustStore = { trusted } },
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(15) };
    }

    private static async Task<(MtaStsPolicy Policy, string Text)> FetchPolicyAsync(HttpClient client)
    {
        using var response = await client.GetAsync($"https://{PolicyHost}/.well-known/mta-sts.txt", TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var (policy, error) = MtaStsPolicy.Parse(text);
        Assert.True(policy is not null, error);
        return (policy, text);
    }

    /// <summary>
    /// One raw HTTP/1.1 request over TLS with the given SNI name; the status code, or null when the handshake was refused
    /// (-1 when the server closed the connection without a reply and <paramref name="allowEndOfStream"/>).
    /// </summary>
    private static async Task<int?> RawAsync(IPEndPoint listener, string sni, string request, bool allowEndOfStream = false)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(listener, TestContext.Current.CancellationToken);
        await using var ssl = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = sni }, TestContext.Current.CancellationToken);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException)
        {
            return null;
        }
        await ssl.WriteAsync(Encoding.ASCII.GetBytes(request), TestContext.Current.CancellationToken);
        using var reader = new StreamReader(ssl, Encoding.ASCII);
        string? status;
        try
        {
            status = await reader.ReadLineAsync(TestContext.Current.CancellationToken);
        }
        catch (IOException) when (allowEndOfStream)
        {
            status = null; // closed without a TLS close_notify
        }
        if (status is null && allowEndOfStream) return -1;
        status ??= "";
        var parts = status.Split(' ');
        Assert.True(parts.Length >= 2 && parts[0] == "HTTP/1.1", $"not an HTTP status line: '{status}'");
        return int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string Get(string host, string path = "/.well-known/mta-sts.txt", string method = "GET", string extra = "") =>
        $"{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n";

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException(what);
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
    }

    private static string IdIn(string dnsRecords)
    {
        var line = dnsRecords.Split('\n').Single(l => l.StartsWith("_mta-sts." + Domain + ".\tIN\tTXT", StringComparison.Ordinal));
        return MtaStsTxtRecord.Parse(line.Split('\t')[3].Trim('"')).Record!.Id;
    }

    [Fact]
    public async Task ThePolicyIsServedBySniAndItsMxListAndIdFollowTheInboundSwitch()
    {
        var listener = FreeListener();
        await using var mx = await CreateAsync(listener);
        var certificate = InstallCertificate(mx, PolicyHost);
        await mx.StartAsync();
        await Net.WaitForPortAsync(listener, TimeSpan.FromSeconds(30));
        using var client = Client(listener, certificate);

        // A hosted domain without a policy of its own serves mode none (the withdrawal rule, RFC 8461 §8.3).
        Assert.Equal(MtaStsMode.None, (await FetchPolicyAsync(client)).Policy.Mode);

        // CLI validation: a mode that does not exist, a domain that is not hosted.
        var bad = await mx.Cli("policy", "mta-sts", Domain, "strict");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("use one of none|testing|enforce", bad.StdErr);
        var notHosted = await mx.Cli("policy", "mta-sts", "elsewhere.test", "testing");
        Assert.NotEqual(0, notHosted.ExitCode);
        Assert.Contains("not hosted", notHosted.StdErr);

        var set = await mx.Cli("policy", "mta-sts", Domain, "testing");
        Assert.True(set.ExitCode == 0, set.All);
        Assert.Contains($"MTA-STS of {Domain}: none -> testing", set.StdOut);
        var (testing, testingText) = await FetchPolicyAsync(client);
        Assert.Equal(MtaStsMode.Testing, testing.Mode);
        Assert.Equal([SecureMxHost, mx.Hostname], testing.Mx);
        Assert.Equal(TimeSpan.FromDays(1), testing.MaxAge);
        var records = await mx.Cli("dns-records", Domain);
        Assert.True(records.ExitCode == 0, records.All);
        var testingId = IdIn(records.StdOut);
        Assert.Equal(HostedMtaStsPolicy.IdOf(testingText), testingId);
        Assert.Contains($"{PolicyHost}.\tIN\tCNAME\t{mx.Hostname}.", records.StdOut);

        // Inbound mandatory: only the secure MX, and a new id that dns-records prints.
        await mx.CliOk("policy", "inbound", Domain, "mandatory");
        var (mandatory, mandatoryText) = await FetchPolicyAsync(client);
        Assert.Equal([SecureMxHost], mandatory.Mx);
        Assert.Equal(MtaStsMode.Testing, mandatory.Mode);
        records = await mx.Cli("dns-records", Domain);
        var mandatoryId = IdIn(records.StdOut);
        Assert.NotEqual(testingId, mandatoryId);
        Assert.Equal(HostedMtaStsPolicy.IdOf(mandatoryText), mandatoryId);
        Assert.DoesNotContain(testingId, records.StdOut);

        // Enforce is refused with the instance's self-signed certificate (enforcing senders would deliver nothing), naming the MX;
        // nothing is stored: the listener still serves testing.
        var refused = await mx.Cli("policy", "mta-sts", Domain, "enforce");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"MX {SecureMxHost}: certificate not trusted", refused.StdErr);
        Assert.Equal(MtaStsMode.Testing, (await FetchPolicyAsync(client)).Policy.Mode);
        // --force switches anyway, with the warning per MX name.
        var enforce = await mx.Cli("policy", "mta-sts", Domain, "enforce", "--force");
        Assert.True(enforce.ExitCode == 0, enforce.All);
        Assert.Contains($"warning: MX {SecureMxHost}: certificate not trusted", enforce.StdOut);
        Assert.Equal(MtaStsMode.Enforce, (await FetchPolicyAsync(client)).Policy.Mode);
        var show = await mx.Cli("policy", "show", Domain);
        Assert.Contains("mta-sts:  enforce", show.StdOut);
        Assert.Contains("mta_sts_mode testing -> enforce", show.StdOut);
        output.WriteLine(records.StdOut);
    }

    [Fact]
    public async Task ANameWithoutACertificateAndHostileRequestsGetACleanRefusal()
    {
        var listener = FreeListener();
        await using var mx = await CreateAsync(listener);
        InstallCertificate(mx, PolicyHost);
        InstallCertificate(mx, "mta-sts.elsewhere.test");
        InstallCertificate(mx, "mta-sts.wrong.test", subject: "mta-sts.other.test");
        await mx.StartAsync();
        await Net.WaitForPortAsync(listener, TimeSpan.FromSeconds(30));

        Assert.Equal(200, await RawAsync(listener, PolicyHost, Get(PolicyHost)));
        // No certificate for the name, no name at all (an IP address sends no SNI), a pair for another name: no handshake.
        Assert.Null(await RawAsync(listener, "mta-sts.unknown.test", Get("mta-sts.unknown.test")));
        Assert.Null(await RawAsync(listener, "127.0.16.1", Get(PolicyHost)));
        Assert.Null(await RawAsync(listener, "mta-sts.wrong.test", Get("mta-sts.wrong.test")));

        Assert.Equal(404, await RawAsync(listener, PolicyHost, Get(PolicyHost, path: "/")));
        Assert.Equal(404, await RawAsync(listener, PolicyHost, Get(PolicyHost, path: "/.well-known/mta-sts.txt/../../securemx.json")));
        Assert.Equal(404, await RawAsync(listener, "mta-sts.elsewhere.test", Get("mta-sts.elsewhere.test"))); // a certificate, but not hosted
        Assert.Equal(421, await RawAsync(listener, PolicyHost, Get("mta-sts.elsewhere.test"))); // Host other than the name the TLS session is for
        Assert.Equal(404, await RawAsync(listener, PolicyHost, Get("www." + Domain)));
        Assert.Equal(405, await RawAsync(listener, PolicyHost, Get(PolicyHost, method: "POST", extra: "Content-Length: 0\r\n")));
        Assert.Equal(431, await RawAsync(listener, PolicyHost, Get(PolicyHost, extra: $"X-Padding: {new string('a', 20_000)}\r\n")));
        Assert.Equal(400, await RawAsync(listener, PolicyHost, "GARBAGE\r\n\r\n"));
        // A client that never finishes its headers is let go after 10 s (Kestrel's headers timeout: 408, then the connection closes).
        var slow = System.Diagnostics.Stopwatch.StartNew();
        var slowStatus = await RawAsync(listener, PolicyHost, $"GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: {PolicyHost}\r\n", allowEndOfStream: true)
            .WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.True(slowStatus is 408 or -1, $"a client stuck in its headers got {slowStatus}");
        Assert.InRange(slow.Elapsed, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(25));
        // And it still serves.
        Assert.Equal(200, await RawAsync(listener, PolicyHost, Get(PolicyHost + ":443")));
        Assert.DoesNotContain("Unhandled", mx.Log);
    }

    [Fact]
    public async Task ANewOrRenewedCertificateIsUsedWithoutARestartAndABrokenOneKeepsTheLastGood()
    {
        var listener = FreeListener();
        await using var mx = await CreateAsync(null);
        await mx.StartAsync("--mta-sts", Net.Text(listener)); // the serve flag alone
        await Net.WaitForPortAsync(listener, TimeSpan.FromSeconds(30));
        Assert.Null(await RawAsync(listener, PolicyHost, Get(PolicyHost)));

        var first = InstallCertificate(mx, PolicyHost);
        using (var client = Client(listener, first))
        {
            await WaitUntilAsync(async () => await RawAsync(listener, PolicyHost, Get(PolicyHost)) == 200, TimeSpan.FromSeconds(10), "the added certificate was not used");
            Assert.Equal(MtaStsMode.None, (await FetchPolicyAsync(client)).Policy.Mode);
        }

        var renewed = InstallCertificate(mx, PolicyHost);
        using (var client = Client(listener, renewed))
        {
            await WaitUntilAsync(async () =>
            {
                try
                {
                    await FetchPolicyAsync(client);
                    return true;
                }
                catch (HttpRequestException)
                {
                    return false; // still the first certificate, which this client does not trust
                }
            }, TimeSpan.FromSeconds(10), "the renewed certificate was not used");
        }

        // A broken certificate file: logged, and the renewed pair stays in use.
        File.WriteAllText(Path.Combine(CertificateDirectory(mx), PolicyHost + ".pem"), "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n");
        await Task.Delay(MtaStsCertificateDirectory.RecheckAfter + TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        using (var client = Client(listener, renewed))
        {
            await FetchPolicyAsync(client);
        }
        await mx.WaitForLogAsync($"MTA-STS certificate for {PolicyHost}");
        await mx.WaitForLogAsync("the previous certificate stays in use");
    }
}
