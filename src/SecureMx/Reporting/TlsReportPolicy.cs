using System.Text.Json;

namespace SecureMx.Reporting;

/// <summary>One policy of a report (RFC 8460 §4.4: policy, summary, failure-details).</summary>
public sealed record TlsReportPolicy(
    string PolicyType,
    IReadOnlyList<string> PolicyStrings,
    IReadOnlyList<string> MxHosts,
    long SuccessfulSessions,
    long FailedSessions,
    IReadOnlyList<TlsReportFailure> Failures)
{
    internal void WriteTo(Utf8JsonWriter w, string policyDomain)
    {
        w.WriteStartObject();
        w.WriteStartObject("policy");
        w.WriteString("policy-type", PolicyType);
        if (PolicyStrings.Count > 0)
        {
            w.WriteStartArray("policy-string");
            foreach (var line in PolicyStrings) w.WriteStringValue(line);
            w.WriteEndArray();
        }
        w.WriteString("policy-domain", policyDomain);
        if (MxHosts.Count > 0)
        {
            w.WriteStartArray("mx-host");
            foreach (var mx in MxHosts) w.WriteStringValue(mx);
            w.WriteEndArray();
        }
        w.WriteEndObject();
        w.WriteStartObject("summary");
        w.WriteNumber("total-successful-session-count", SuccessfulSessions);
        w.WriteNumber("total-failure-session-count", FailedSessions);
        w.WriteEndObject();
        if (Failures.Count > 0)
        {
            w.WriteStartArray("failure-details");
            foreach (var f in Failures) f.WriteTo(w);
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }
}
