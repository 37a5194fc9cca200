using System.Net;
using SecureMx.Cli;
using SecureMx.Config;
using SecureMx.Dovecot;
using SecureMx.IntegrationTests.Support;
using SecureMx.Mail;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Reading;

/// <summary>
/// The files <see cref="DovecotConfiguration"/> writes, read by the real `doveconf -n`: for every
/// shape of listeners the command offers, Dovecot accepts them without a warning and reads what was
/// meant (the listeners' addresses, the protocols, TLS required); and the cipher names are ones
/// OpenSSL knows, naming exactly the strict profile's suites.
/// </summary>
public sealed class GeneratedConfigurationDoveconfTests
{
    private const string Owner = "securemx-test";
    private const string Key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    private static IPEndPoint Ep(string text) => Endpoint.Parse(text, "test")!;

    /// <summary>An instance directory (owned by the test user, as dovecot-config requires) with a certificate, and the two files written into it.</summary>
    private static async Task<(DovecotInstance Instance, string MainFile)> WriteAsync(string directoryName, Func<DovecotInstance, DovecotInstance> shape)
    {
        var dir = Path.Combine(Path.GetTempPath(), directoryName);
        using var cert = TestCertificates.SelfSigned("mx.example.test");
        var files = cert.WritePem(Path.Combine(dir, "tls"));
        var chown = await Run.ProcessAsync("chown", ["-R", $"{Owner}:", dir]);
        Assert.True(chown.ExitCode == 0, chown.All);
        var all = new DovecotInstance(dir, "mx.example.test", files.CertFile, files.KeyFile,
            Ep("127.0.0.1:10143"), Ep("127.0.0.1:10993"), Ep("127.0.0.1:10110"), Ep("127.0.0.1:10995"),
            LmtpTarget.Parse("unix:" + Path.Combine(dir, "dovecot", "lmtp"))!, InstanceOwner.Of(dir), Ep("127.0.0.1:2524"), Key, TimeSpan.FromSeconds(2));
        var instance = shape(all);
        Directory.CreateDirectory(instance.DovecotDirectory);
        await File.WriteAllTextAsync(instance.SqlConfigPath, DovecotConfiguration.SqlFile(instance));
        var main = Path.Combine(dir, "dovecot.conf");
        await File.WriteAllTextAsync(main, DovecotConfiguration.MainFile(instance));
        return (instance, main);
    }

    public static TheoryData<string> Shapes => ["all four", "only imaps", "IPv6", "LMTP over TCP", "odd directory"];

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task DoveconfAcceptsTheGeneratedFilesWithoutAWarningAndReadsTheListenersAsMeant(string shape)
    {
        Assert.SkipUnless(Run.Exists("doveconf"), "doveconf is not installed (scripts/install-test-deps.sh installs Dovecot)");
        var name = "securemx-it-doveconf-" + Guid.NewGuid().ToString("N")[..8] + (shape == "odd directory" ? " 100%d o'q" : "");
        try
        {
            var (instance, main) = await WriteAsync(name, all => shape switch
            {
                "all four" => all,
                "only imaps" => all with { Imap = null, Pop3 = null, Pop3s = null },
                "IPv6" => all with { Imap = Ep("[::1]:10143"), Imaps = Ep("[::1]:10993"), Pop3 = null, Pop3s = Ep("[::]:10995") },
                "LMTP over TCP" => all with { Lmtp = LmtpTarget.Parse("127.0.0.1:10024")! },
                "odd directory" => all,
                _ => throw new ArgumentException(shape),
            });

            var r = await Run.ProcessAsync("doveconf", ["-n", "-c", main]);

            Assert.True(r.ExitCode == 0, r.All);
            var complaints = r.All.Split('\n').Where(l => l.Contains("warning", StringComparison.OrdinalIgnoreCase)
                || l.Contains("error", StringComparison.OrdinalIgnoreCase) || l.Contains("fatal", StringComparison.OrdinalIgnoreCase));
            Assert.Empty(complaints);
            var seen = r.StdOut;
            Assert.Contains("\nssl = required\n", seen);
            // Dovecot's default, so -n does not show it: asked for by name.
            Assert.Equal("yes\n", (await Run.ProcessAsync("doveconf", ["-c", main, "-h", "disable_plaintext_auth"])).StdOut);
            Assert.Contains($"\nauth_policy_server_url = http://127.0.0.1:2524/dovecot/auth-policy\n", seen);
            // Every LMTP socket, Dovecot's defaults included, is the instance user's alone or closed (mode 0).
            var full = (await Run.ProcessAsync("doveconf", ["-a", "-c", main])).StdOut;
            var start = full.IndexOf("\nservice lmtp {\n", StringComparison.Ordinal);
            var lmtpService = full[start..full.IndexOf("\n}\n", start + 1, StringComparison.Ordinal)];
            var sockets = System.Text.RegularExpressions.Regex.Matches(lmtpService, @"unix_listener (.+) \{\n\s+group = (.*)\n\s+mode = (\d+)\n\s+user = (.*)\n");
            Assert.NotEmpty(sockets);
            Assert.All(sockets, m => Assert.True(
                Convert.ToInt32(m.Groups[3].Value, 8) == 0 || (Convert.ToInt32(m.Groups[3].Value, 8) == 0b110_000_000 && m.Groups[4].Value == Owner),
                "an LMTP socket others may use: " + m.Value));
            switch (shape)
            {
                case "only imaps":
                    Assert.Contains("\nprotocols = imap lmtp\n", seen);
                    Assert.Contains("inet_listener imap {\n    address = \n    port = 0\n", seen);
                    Assert.Contains("inet_listener imaps {\n    address = 127.0.0.1\n    port = 10993\n", seen);
                    Assert.Contains("inet_listener pop3s {\n    address = \n    port = 0\n", seen);
                    break;
                case "IPv6":
                    Assert.Contains("inet_listener imap {\n    address = [::1]\n    port = 10143\n", seen);
                    Assert.Contains("inet_listener imaps {\n    address = [::1]\n    port = 10993\n", seen);
                    Assert.Contains("inet_listener pop3s {\n    address = [::]\n    port = 10995\n", seen);
                    break;
                case "LMTP over TCP":
                    Assert.Contains("inet_listener lmtp {\n    address = 127.0.0.1\n    port = 10024\n", seen);
                    break;
                default:
                    Assert.Contains("\nprotocols = imap pop3 lmtp\n", seen);
                    Assert.Contains("inet_listener pop3 {\n    address = 127.0.0.1\n    port = 10110\n", seen);
                    // doveconf quotes (and escapes) the name only when it has to.
                    var socket = instance.Lmtp.SocketPath!;
                    var printed = socket.Contains(' ', StringComparison.Ordinal) ? "\"" + socket.Replace("'", "\\'", StringComparison.Ordinal) + "\"" : socket;
                    Assert.Contains($"unix_listener {printed} {{\n    group = {Owner}\n    mode = 0600\n    user = {Owner}\n", seen);
                    break;
            }
        }
        finally
        {
            Directory.Delete(Path.Combine(Path.GetTempPath(), name), recursive: true);
        }
    }

    [Fact]
    public async Task TheCipherNamesAreOpenSslsNamesOfExactlyTheStrictSuites()
    {
        Assert.SkipUnless(Run.Exists("openssl"), "openssl is not installed");
        var name = "securemx-it-doveconf-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            var (instance, _) = await WriteAsync(name, all => all);
            var settings = DovecotConfiguration.MainFile(instance).Split('\n')
                .Select(l => l.Split(" = ", 2)).Where(p => p.Length == 2 && !p[0].StartsWith(' ')).ToDictionary(p => p[0], p => p[1]);

            // OpenSSL ignores names it does not know: the standard names it lists must be the profile's, all of them.
            var r = await Run.ProcessAsync("openssl", ["ciphers", "-stdname", "-ciphersuites", settings["ssl_cipher_suites"], settings["ssl_cipher_list"]]);

            Assert.True(r.ExitCode == 0, r.All);
            var standardNames = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')[0]);
            Assert.Equal(TlsGrading.StrictSuites.Select(s => s.ToString()).Order(), standardNames.Order());
        }
        finally
        {
            Directory.Delete(Path.Combine(Path.GetTempPath(), name), recursive: true);
        }
    }
}
