using System.Text.Json.Nodes;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// `securemx tls-report show DOMAIN` of a running instance: the report of today's sessions to a recipient
/// domain, read until it shows what the test waits for (the counts are written behind, a moment after the
/// session), and checked against the RFC 8460 report schema every time.
/// </summary>
public static class TlsReportCli
{
    /// <summary>The report of <paramref name="domain"/> once <paramref name="until"/> holds for it; throws with the last answer after <paramref name="wait"/>.</summary>
    public static async Task<JsonObject> WaitForReportAsync(this SecureMxInstance mx, string domain, Func<JsonObject, bool> until, TimeSpan wait)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            var r = await mx.Cli("tls-report", "show", domain);
            if (r.ExitCode == 0)
            {
                var errors = TlsReportSchema.Errors(r.StdOut);
                Assert.True(errors.Count == 0, $"the report of {domain} is not valid by the RFC 8460 schema:\n{string.Join("\n", errors)}\n{r.StdOut}");
                var report = JsonNode.Parse(r.StdOut)!.AsObject();
                if (until(report)) return report;
            }
            else
            {
                Assert.Contains($"no sessions to {domain} counted on ", r.StdErr);
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the TLS report of {domain} did not show what was expected within {wait.TotalSeconds:0} s: {r.All}");
            await Task.Delay(200);
        }
    }

    /// <summary>The policies of the report with <paramref name="policyType"/>.</summary>
    public static IEnumerable<JsonObject> Policies(this JsonObject report, string policyType) =>
        report["policies"]!.AsArray().Select(p => p!.AsObject()).Where(p => (string?)p["policy"]!["policy-type"] == policyType);

    public static long Successful(this JsonObject policy) => (long)policy["summary"]!["total-successful-session-count"]!;

    public static long Failed(this JsonObject policy) => (long)policy["summary"]!["total-failure-session-count"]!;

    /// <summary>The failure-details of <paramref name="policy"/> with <paramref name="resultType"/>.</summary>
    public static IEnumerable<JsonObject> Failures(this JsonObject policy, string resultType) =>
        (policy["failure-details"]?.AsArray() ?? []).Select(f => f!.AsObject()).Where(f => (string?)f["result-type"] == resultType);
}
