using System.Text.Json.Nodes;
using SecureMx.Mail;
using SecureMx.Reporting;
using SecureMx.Store;
using SecureMx.TestKit;

namespace SecureMx.Tests.Reporting;

/// <summary>
/// Generated TLS reports validate against the RFC 8460 §4.4 report format, written as a JSON Schema
/// shipped with the tests (<see cref="TlsReportSchema"/>: required members, types, the result-type and
/// policy-type vocabularies, RFC 3339 date-times, addresses). The schema rejects broken documents too,
/// so a report that drifts from the RFC fails here.
/// </summary>
public sealed class TlsReportSchemaTests
{
    private static readonly DateTimeOffset Day = new(2026, 12, 5, 0, 0, 0, TimeSpan.Zero);

    private static IReadOnlyList<string> Errors(JsonNode? document) => TlsReportSchema.Errors(document);

    private static void AssertValid(byte[] json)
    {
        var errors = Errors(JsonNode.Parse(json));
        Assert.True(errors.Count == 0, string.Join("\n", errors) + "\n" + System.Text.Encoding.UTF8.GetString(json));
    }

    private static TlsSessionCount Count(string policyType, string resultType, long sessions, string policyString = "", string mxHost = "", string sendingIp = "198.51.100.1",
        string receivingMx = "mx1.example.org", string receivingIp = "192.0.2.25", string? detail = null) =>
        new(Day, "example.org", policyType, policyString, mxHost, resultType, sendingIp, receivingMx, receivingIp, sessions, resultType.Length == 0 ? null : detail ?? $"{resultType} seen");

    /// <summary>A day with every policy type and every result type, as the store gives it back.</summary>
    private static List<TlsSessionCount> EveryKind()
    {
        const string sts = "version: STSv1\nmode: enforce\nmx: *.example.org\nmax_age: 604800";
        const string tlsa = "3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        var counts = new List<TlsSessionCount>
        {
            Count("sts", "", 120, sts, "*.example.org"),
            Count("sts", "", 3, sts, "*.example.org", sendingIp: "2001:db8::25", receivingIp: "2001:db8::1"),
            Count("tlsa", "", 40, tlsa),
            Count("no-policy-found", "", 7),
            Count("no-policy-found", "starttls-not-supported", 2),
            // Policy failures before any host: no addresses, no MX.
            Count("sts", "sts-policy-fetch-error", 1, sendingIp: "", receivingMx: "", receivingIp: ""),
            Count("sts", "sts-policy-invalid", 1, sendingIp: "", receivingMx: "", receivingIp: ""),
            Count("sts", "sts-webpki-invalid", 1, sendingIp: "", receivingMx: "", receivingIp: ""),
            Count("tlsa", "dnssec-invalid", 2, receivingIp: "", sendingIp: ""),
            Count("tlsa", "dane-required", 1, receivingIp: "", sendingIp: ""),
        };
        foreach (var type in Enum.GetValues<TlsResultType>())
            counts.Add(Count(type is TlsResultType.TlsaInvalid ? "tlsa" : "sts", type.Name(), 5, type is TlsResultType.TlsaInvalid ? tlsa : sts,
                type is TlsResultType.TlsaInvalid ? "" : "*.example.org", receivingMx: "mx2.example.org", detail: $"{type.Name()}: \"quoted\" <detail> \u00e9"));
        return counts;
    }

    [Fact]
    public void AReportOfEveryPolicyAndResultTypeValidates()
    {
        var report = TlsReport.Build("Example Sender", "tlsrpt-noreply@sender.example", "sender.example", "example.org", Day, EveryKind());
        var json = report.ToJson();
        AssertValid(json);
        var doc = JsonNode.Parse(json)!;
        Assert.Equal("2026-12-05T00:00:00Z", (string?)doc["date-range"]!["start-datetime"]);
        Assert.Equal("2026-12-05T23:59:59Z", (string?)doc["date-range"]!["end-datetime"]);
        var policies = doc["policies"]!.AsArray();
        Assert.Equal(["no-policy-found", "sts", "sts", "tlsa", "tlsa"], policies.Select(p => (string?)p!["policy"]!["policy-type"]).Order(StringComparer.Ordinal));
        // Every result type of RFC 8460 §4.3 made it into the report.
        var types = policies.SelectMany(p => p!["failure-details"]?.AsArray() ?? []).Select(f => (string?)f!["result-type"]).Distinct().ToHashSet();
        Assert.True(Enum.GetValues<TlsResultType>().All(t => types.Contains(t.Name())), string.Join(", ", types));
    }

    [Fact]
    public void AReportOfADayWithoutFailuresAndOneWithoutSessionsValidate()
    {
        AssertValid(TlsReport.Build("Example Sender", "tlsrpt-noreply@sender.example", "sender.example", "example.org", Day, [Count("no-policy-found", "", 1)]).ToJson());
        AssertValid(TlsReport.Build("Example Sender", "tlsrpt-noreply@sender.example", "sender.example", "example.org", Day, []).ToJson());
    }

    [Fact]
    public void ASampleFollowingTheRfcExampleValidates()
    {
        // The shape of RFC 8460 §4.5's example, with values of our own.
        Assert.Empty(Errors(JsonNode.Parse(Sample)));
    }

    private const string Sample = """
        {
          "organization-name": "Sender Org",
          "date-range": { "start-datetime": "2026-12-04T00:00:00Z", "end-datetime": "2026-12-04T23:59:59Z" },
          "contact-info": "tls-reports@sender.example",
          "report-id": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
          "policies": [{
            "policy": {
              "policy-type": "sts",
              "policy-string": ["version: STSv1", "mode: testing", "mx: *.mail.example.org", "max_age: 86400"],
              "policy-domain": "example.org",
              "mx-host": ["*.mail.example.org"]
            },
            "summary": { "total-successful-session-count": 812, "total-failure-session-count": 9 },
            "failure-details": [
              { "result-type": "certificate-expired", "sending-mta-ip": "2001:db8:25::1", "receiving-mx-hostname": "mx1.mail.example.org", "failed-session-count": 4 },
              { "result-type": "starttls-not-supported", "sending-mta-ip": "198.51.100.7", "receiving-mx-hostname": "mx2.mail.example.org",
                "receiving-ip": "192.0.2.56", "failed-session-count": 3, "additional-information": "https://reports.sender.example/info?id=0f1e2d3c#starttls" },
              { "result-type": "validation-failure", "sending-mta-ip": "198.51.100.8", "receiving-ip": "192.0.2.58",
                "receiving-mx-hostname": "mx-backup.mail.example.org", "failed-session-count": 2, "failure-reason-code": "X509_V_ERR_PROOF_OF_POSSESSION" }
            ]
          }]
        }
        """;

    public static TheoryData<string, string> Broken => new()
    {
        { "no report-id", """{"report-id": null}""" },
        { "a date without a time", """{"date-range": {"start-datetime": "2026-12-04", "end-datetime": "2026-12-04T23:59:59Z"}}""" },
        { "Unix seconds for a date-time", """{"date-range": {"start-datetime": 1796342400, "end-datetime": "2026-12-04T23:59:59Z"}}""" },
        { "an unknown policy type", """{"policies": [{"policy": {"policy-type": "dane", "policy-domain": "example.org"}, "summary": {"total-successful-session-count": 1, "total-failure-session-count": 0}}]}""" },
        { "an unknown result type", """{"policies": [{"policy": {"policy-type": "sts", "policy-domain": "example.org"}, "summary": {"total-successful-session-count": 1, "total-failure-session-count": 1}, "failure-details": [{"result-type": "certificate-revoked", "failed-session-count": 1}]}]}""" },
        { "a count as a string", """{"policies": [{"policy": {"policy-type": "sts", "policy-domain": "example.org"}, "summary": {"total-successful-session-count": "5", "total-failure-session-count": 0}}]}""" },
        { "a negative count", """{"policies": [{"policy": {"policy-type": "sts", "policy-domain": "example.org"}, "summary": {"total-successful-session-count": -1, "total-failure-session-count": 0}}]}""" },
        { "no failed-session-count", """{"policies": [{"policy": {"policy-type": "sts", "policy-domain": "example.org"}, "summary": {"total-successful-session-count": 0, "total-failure-session-count": 1}, "failure-details": [{"result-type": "certificate-expired"}]}]}""" },
        { "a policy-string that is not an array", """{"policies": [{"policy": {"policy-type": "sts", "policy-string": "version: STSv1", "policy-domain": "example.org"}, "summary": {"total-successful-session-count": 0, "total-failure-session-count": 0}}]}""" },
        { "a sending-mta-ip that is not an address", """{"policies": [{"policy": {"policy-type": "sts", "policy-domain": "example.org"}, "summary": {"total-successful-session-count": 0, "total-failure-session-count": 1}, "failure-details": [{"result-type": "validation-failure", "sending-mta-ip": "mx.sender.example", "failed-session-count": 1}]}]}""" },
        { "a U-label policy domain", """{"policies": [{"policy": {"policy-type": "sts", "policy-domain": "bücher.example"}, "summary": {"total-successful-session-count": 0, "total-failure-session-count": 0}}]}""" },
        { "no summary", """{"policies": [{"policy": {"policy-type": "no-policy-found", "policy-domain": "example.org"}}]}""" },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public void TheSchemaRejectsABrokenReport(string what, string change)
    {
        var doc = JsonNode.Parse(Sample)!.AsObject();
        foreach (var (key, value) in JsonNode.Parse(change)!.AsObject().ToList())
        {
            if (value is null) doc.Remove(key);
            else doc[key] = value.DeepClone();
        }
        Assert.True(Errors(doc).Count > 0, $"{what}: accepted\n{doc.ToJsonString()}");
    }
}
