using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MailKit.Security;
using SecureMx.IntegrationTests.Dns;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Monitoring;

/// <summary>
/// Issue 14 items 4 and 8: a real `securemx serve --metrics` on loopback, scraped before and after real
/// mail flows (inbound into a Maildir, outbound to a Postfix peer over TLS, a refused RCPT, a failed
/// login, a recipient deferred by a SERVFAIL domain), the text parsed by the Prometheus project's own
/// parser (python3-prometheus-client); /health 200 when up and 503 with the reason when the spool is
/// read-only or the store is gone; the shipped alert rules name only series the server exports.
/// </summary>
public sealed partial class MetricsEndpointTests : IAsyncLifetime
{
    private const string Parser = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        out = []
        for family in text_string_to_metric_families(sys.stdin.read()):
            for s in family.samples:
                out.append({"family": family.name, "type": family.type, "name": s.name, "labels": s.labels, "value": s.value})
        print(json.dumps(out))
        """;

    /// <summary>Every series the issue names (and the existing free-space gauge), as the exporter names them.</summary>
    private static readonly string[] NamedSeries =
    [
        "securemx_smtp_connections_total", "securemx_smtp_refused_total", "securemx_smtp_messages_accepted_total",
        "securemx_delivery_attempts_total", "securemx_queue_recipients", "securemx_queue_deferred",
        "securemx_queue_oldest_deferred_age_seconds", "securemx_dsn_sent_total", "securemx_dns_failures_total",
        "securemx_auth_login_failures_total", "securemx_spool_free_bytes",
    ];

    private DnsTestBed _dns = null!;
    private PostfixPeer _receiver = null!;
    private SecureMxInstance _mx = null!;
    private IPEndPoint _metrics = null!;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(20) };

    public async ValueTask InitializeAsync()
    {
        _dns = await DnsTestBed.StartAsync(["127.0.71"]);
        _receiver = await PostfixPeer.StartAsync($"{_dns.AddressOf(TestBed.Deliver.Mx)}:25", "mailbox", tls: true, hostname: TestBed.Deliver.Mx, domains: TestBed.Deliver.Name);
        _mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"],
            cfg => SecureMxInstance.UseTestBedAndSecondsScaleQueue(cfg, _dns.Resolver.ToString(), expireAfter: "1h"), submission: true);
        _metrics = Net.FreeEndpoint();
        await _mx.StartAsync("--metrics", Net.Text(_metrics));
        await Net.WaitForPortAsync(_metrics, TimeSpan.FromSeconds(30));
        _http.BaseAddress = new Uri($"http://{Net.Text(_metrics)}/");
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (_mx is not null)
        {
            await _mx.StopAsync();
            await _mx.DisposeAsync();
        }
        if (_receiver is not null) await _receiver.DisposeAsync();
        if (_dns is not null) await _dns.DisposeAsync();
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNameCaseInsensitive = true };

    private sealed record Sample(string Family, string Type, string Name, Dictionary<string, string> Labels, double Value);

    private async Task<List<Sample>> ScrapeAsync()
    {
        using var response = await _http.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        var parsed = await Run.ProcessAsync("/usr/bin/python3", ["-c", Parser], stdin: text);
        Assert.True(parsed.ExitCode == 0, "the Prometheus parser refused the exposition: " + parsed.All + "\n" + text);
        return JsonSerializer.Deserialize<List<Sample>>(parsed.StdOut, JsonOptions)!;
    }

    private static double Value(List<Sample> samples, string name, params (string Key, string Value)[] labels) =>
        samples.Where(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.Key) == l.Value)).Sum(s => s.Value);

    private async Task<(HttpStatusCode Status, string Body)> HealthAsync()
    {
        using var response = await _http.GetAsync("health");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Polls /health (it caches an answer for a second) until it gives <paramref name="status"/>.</summary>
    private async Task<string> WaitForHealthAsync(HttpStatusCode status)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var (got, body) = await HealthAsync();
            if (got == status) return body;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"/health stayed {(int)got} ({body.Trim()}), expected {(int)status}; log:\n{_mx.Log}");
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task EveryNamedSeriesIsExportedAndMovesWithRealMailAndHealthFollowsTheSpoolAndTheStore()
    {
        await WaitForHealthAsync(HttpStatusCode.OK);
        using (var live = await _http.GetAsync("health/live")) Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        var before = await ScrapeAsync();

        // Inbound on the MX listener into alice's Maildir, and a relay attempt refused at RCPT.
        var token = SubmissionClient.Token();
        await using (var smtp = await RawSmtp.ConnectAsync(_mx.Mx))
        {
            await smtp.ReadReplyAsync();
            Assert.StartsWith("250", await smtp.CommandAsync("EHLO client.test"));
            Assert.StartsWith("250", await smtp.CommandAsync("MAIL FROM:<someone@remote.test>"));
            Assert.StartsWith("554", await smtp.CommandAsync("RCPT TO:<victim@elsewhere.test>"));
            Assert.StartsWith("250", await smtp.CommandAsync("RCPT TO:<alice@example.test>"));
            Assert.StartsWith("354", await smtp.CommandAsync("DATA"));
            Assert.StartsWith("250", await smtp.CommandAsync($"Subject: {token}\r\n\r\nbody\r\n."));
            await smtp.CommandAsync("QUIT");
        }
        await _mx.WaitForMessageAsync("alice@example.test", token);

        // A wrong password on submission, then alice's mail out to the Postfix peer (TLS) and to a domain whose DNS fails.
        using (var wrong = await SubmissionClient.ConnectAsync(_mx, SecureSocketOptions.SslOnConnect))
        {
            await Assert.ThrowsAsync<AuthenticationException>(() => wrong.AuthenticateAsync("alice@example.test", "not-the-password"));
        }
        var outToken = SubmissionClient.Token();
        var stuck = $"user@{TestBed.Servfail.Name}";
        using (var client = await SubmissionClient.LoginAsync(_mx, SecureSocketOptions.SslOnConnect, "alice@example.test"))
        {
            await client.SendAsync(SubmissionClient.Message(outToken, "alice@example.test", $"user@{TestBed.Deliver.Name}"), "alice@example.test", $"user@{TestBed.Deliver.Name}");
            await client.SendAsync(SubmissionClient.Message(SubmissionClient.Token(), "alice@example.test", stuck), "alice@example.test", stuck);
        }
        await _receiver.WaitForMessageAsync(outToken, TimeSpan.FromSeconds(30));

        // The queue gauges follow a summary taken every 5 s; the delay DSN comes after queue.delayWarningAfter (3 s).
        List<Sample> after;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(40);
        while (true)
        {
            after = await ScrapeAsync();
            if (Value(after, "securemx_queue_deferred", ("reason", "dns")) >= 1 && Value(after, "securemx_dsn_sent_total", ("action", "delayed")) >= 1
                && Value(after, "securemx_queue_oldest_deferred_age_seconds") > 0) break;
            Assert.True(DateTime.UtcNow < deadline, "the deferred recipient and its delay DSN did not show; last scrape: " + JsonSerializer.Serialize(after) + "\nlog:\n" + _mx.Log);
            await Task.Delay(500);
        }

        var names = after.Select(s => s.Name).ToHashSet();
        Assert.All(NamedSeries, n => Assert.True(names.Contains(n), $"{n} is not exported; exported: {string.Join(", ", names.Order())}"));
        Assert.Equal("counter", after.First(s => s.Name == "securemx_smtp_connections_total").Type);

        double Moved(string name, params (string, string)[] labels) => Value(after, name, labels) - Value(before, name, labels);
        Assert.True(Moved("securemx_smtp_connections_total", ("listener", "mx")) >= 1);
        Assert.True(Moved("securemx_smtp_connections_total", ("listener", "submissions")) >= 2);
        Assert.True(Moved("securemx_smtp_refused_total", ("listener", "mx"), ("reason", "relay")) >= 1);
        Assert.True(Moved("securemx_smtp_messages_accepted_total", ("listener", "mx")) >= 1);
        Assert.True(Moved("securemx_smtp_messages_accepted_total", ("listener", "submissions")) >= 2);
        Assert.True(Moved("securemx_delivery_attempts_total", ("result", "delivered"), ("tls", "local")) >= 1);
        Assert.True(Moved("securemx_delivery_attempts_total", ("result", "delivered"), ("tls", "encrypted")) >= 1);
        Assert.True(Moved("securemx_delivery_attempts_total", ("result", "deferred")) >= 1);
        Assert.True(Moved("securemx_dns_failures_total", ("reason", "servfail")) >= 1);
        Assert.True(Moved("securemx_auth_login_failures_total", ("service", "smtp"), ("result", "failed")) >= 1);
        Assert.True(Moved("securemx_dsn_sent_total", ("action", "delayed")) >= 1);
        Assert.True(Value(after, "securemx_queue_recipients", ("state", "deferred")) >= 1);
        Assert.True(Value(after, "securemx_spool_free_bytes") > 0);

        await AlertRulesNameOnlyExportedSeriesAsync(names);

        // /health: a read-only spool, then a store that is gone, each 503 with its reason; 200 again after.
        await WaitForHealthAsync(HttpStatusCode.OK);
        var incoming = Path.Combine(_mx.DataDir, "spool", "incoming");
        await using (var mount = await TmpfsMount.MountAsync(incoming, "1m"))
        {
            var ro = await Run.ProcessAsync("mount", ["-o", "remount,ro", incoming]);
            Assert.True(ro.ExitCode == 0, ro.All);
            Assert.Contains("spool: incoming: not writable", await WaitForHealthAsync(HttpStatusCode.ServiceUnavailable));
        }
        await WaitForHealthAsync(HttpStatusCode.OK);
        var store = Path.Combine(_mx.DataDir, "securemx.db");
        File.Move(store, store + ".away");
        try
        {
            Assert.Contains("store: securemx.db is missing", await WaitForHealthAsync(HttpStatusCode.ServiceUnavailable));
        }
        finally
        {
            File.Move(store + ".away", store, overwrite: true);
        }
        await WaitForHealthAsync(HttpStatusCode.OK);
    }

    /// <summary>packaging/prometheus/securemx-alerts.yml: valid YAML of Prometheus's rule-file shape, every SecureMx series it reads exported.</summary>
    private static async Task AlertRulesNameOnlyExportedSeriesAsync(HashSet<string> exported)
    {
        var path = Path.Combine(Run.RepoRoot, "packaging", "prometheus", "securemx-alerts.yml");
        var yaml = await Run.ProcessAsync("/usr/bin/python3", ["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))", path]);
        Assert.True(yaml.ExitCode == 0, yaml.All);
        var rules = JsonNode.Parse(yaml.StdOut)!["groups"]!.AsArray().SelectMany(g => g!["rules"]!.AsArray()).ToList();
        Assert.NotEmpty(rules);
        foreach (var rule in rules)
        {
            var name = rule!["alert"]!.GetValue<string>();
            Assert.False(string.IsNullOrWhiteSpace(rule["expr"]?.GetValue<string>()), name);
            Assert.Matches(@"^\d+[smh]$", rule["for"]!.GetValue<string>());
            Assert.Contains(rule["labels"]!["severity"]!.GetValue<string>(), new[] { "warning", "critical" });
            Assert.False(string.IsNullOrWhiteSpace(rule["annotations"]!["summary"]!.GetValue<string>()), name);
            foreach (Match m in SeriesName().Matches(rule["expr"]!.GetValue<string>()))
                Assert.True(exported.Contains(m.Value), $"alert {name} reads {m.Value}, which the server does not export");
        }
    }

    [GeneratedRegex(@"\bsecuremx_[a-z_]+")]
    private static partial Regex SeriesName();
}
