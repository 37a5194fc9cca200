using System.Text.Json.Nodes;
using SecureMx.IntegrationTests.Dns;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Dkim;

/// <summary>
/// A SecureMx instance hosting example.test with an RSA and an Ed25519 key made by `securemx dkim add`, the
/// DNS test bed (its own, on 127.0.130.x) publishing both key records as `dkim add` printed them — in a
/// DNSSEC-signed example.test zone — two Postfix receivers, one with 8BITMIME, one without, and the dashboard
/// with alice as the domain's administrator.
/// </summary>
public sealed class DkimSigningFixture : IAsyncLifetime
{
    public const string Sender = "alice@example.test";

    public DnsTestBed Dns { get; private set; } = null!;
    public SecureMxInstance Mx { get; private set; } = null!;
    public PostfixPeer Receiver { get; private set; } = null!;
    public PostfixPeer Old { get; private set; } = null!; // no 8BITMIME

    /// <summary>The zone-file lines `dkim add` printed, as published.</summary>
    public List<string> Records { get; } = [];

    public async ValueTask InitializeAsync()
    {
        Mx = await SecureMxInstance.CreateAsync("example.test", [Sender], submission: true, dashboard: Net.FreeEndpoint());
        await Mx.CliOk("domain", "admin", "add", "example.test", Sender); // alice sees the domain page and its DNS check
        foreach (var args in new[] { new[] { "--selector", "rsa1" }, ["--selector", "ed1", "--algorithm", "ed25519"] })
        {
            var r = await Mx.Cli(["dkim", "add", "example.test", .. args]);
            Assert.True(r.ExitCode == 0, r.All);
            var line = r.StdOut.Split('\n').Single(l => l.Contains(" IN TXT ", StringComparison.Ordinal)).Trim();
            Records.Add(line.Replace(" IN TXT ", " TXT ", StringComparison.Ordinal)); // the test bed's records.conf takes OWNER TYPE DATA
        }
        Dns = await DnsTestBed.StartAsync(["127.0.130"], Records);
        string Listen(TestBedZone zone) => $"{Dns.AddressOf(zone.Mx)}:25";
        Receiver = await PostfixPeer.StartAsync(Listen(TestBed.Deliver), "mailbox", tls: true, hostname: TestBed.Deliver.Mx, domains: TestBed.Deliver.Name);
        Old = await PostfixPeer.StartAsync(Listen(TestBed.Old), "mailbox", tls: true, hostname: TestBed.Old.Mx, domains: TestBed.Old.Name, extra: ["--no-8bitmime"]);

        var cfgPath = Path.Combine(Mx.DataDir, "securemx.json");
        var cfg = JsonNode.Parse(await File.ReadAllTextAsync(cfgPath))!.AsObject();
        SecureMxInstance.UseTestBedAndSecondsScaleQueue(cfg, Dns.Resolver.ToString(), expireAfter: "60s");
        await File.WriteAllTextAsync(cfgPath, cfg.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        await Mx.StartAsync();
    }

    /// <summary>dkimpy's verdict on <paramref name="message"/>, looking the keys up through the test bed's resolver.</summary>
    public async Task<ProcessResult> VerifyAsync(string message) =>
        await Run.ProcessAsync("/usr/bin/python3", [Path.Combine(Run.RepoRoot, "tests", "peers", "dkimpy-verify.py"), Dns.Resolver.Address.ToString(), Dns.Resolver.Port.ToString()], stdin: message);

    public async ValueTask DisposeAsync()
    {
        if (Mx is not null)
        {
            await Mx.StopAsync();
            await Mx.DisposeAsync();
        }
        foreach (var peer in new[] { Receiver, Old })
        {
            if (peer is not null) await peer.DisposeAsync();
        }
        if (Dns is not null) await Dns.DisposeAsync();
    }
}
