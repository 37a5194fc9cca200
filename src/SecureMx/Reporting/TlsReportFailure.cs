using System.Text.Json;

namespace SecureMx.Reporting;

/// <summary>One line of failure-details (RFC 8460 §4.4); <see cref="ReasonCode"/> is failure-reason-code, our words for what failed.</summary>
public sealed record TlsReportFailure(string ResultType, string? SendingIp, string? ReceivingMx, string? ReceivingIp, long Sessions, string? ReasonCode)
{
    internal void WriteTo(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteString("result-type", ResultType);
        if (SendingIp is not null) w.WriteString("sending-mta-ip", SendingIp);
        if (ReceivingMx is not null) w.WriteString("receiving-mx-hostname", ReceivingMx);
        if (ReceivingIp is not null) w.WriteString("receiving-ip", ReceivingIp);
        w.WriteNumber("failed-session-count", Sessions);
        if (ReasonCode is not null) w.WriteString("failure-reason-code", ReasonCode);
        w.WriteEndObject();
    }
}
