namespace SecureMx.Store;

/// <summary>
/// Outbound sessions of one UTC day to one recipient domain, counted per policy and result: a row of
/// the tls_sessions table, the stuff of a TLS report (RFC 8460 §4.4). <see cref="ResultType"/> is
/// "" for successful sessions, else the RFC 8460 result type; host and address columns are "" when unknown.
/// </summary>
/// <param name="Day">00:00 UTC of the day counted.</param>
/// <param name="PolicyString">The policy-string lines joined by "\n" ("" for no-policy-found).</param>
/// <param name="MxHost">The MTA-STS policy's mx patterns joined by "\n" ("" otherwise).</param>
/// <param name="Detail">The last failure's words (additional-information); null for successes.</param>
public sealed record TlsSessionCount(
    DateTimeOffset Day,
    string PolicyDomain,
    string PolicyType,
    string PolicyString,
    string MxHost,
    string ResultType,
    string SendingIp,
    string ReceivingMx,
    string ReceivingIp,
    long Sessions,
    string? Detail)
{
    public bool Successful => ResultType.Length == 0;
}
