namespace SecureMx.Mail;

/// <summary>
/// One outbound SMTP session (or a failure before one: a policy that could not be fetched) to a
/// recipient domain, as TLS reporting counts it (RFC 8460 §4.4): under which policy, and whether it
/// reached a TLS session that met the policy (<see cref="Failure"/> null) or why not.
/// </summary>
/// <param name="PolicyDomain">The recipient domain (A-labels, lower case): the domain the report goes to.</param>
/// <param name="PolicyStrings">The policy as the report's policy-string shows it: the MTA-STS policy's lines, or the TLSA records ("3 1 1 ab12…"); empty for no-policy-found.</param>
/// <param name="MxPatterns">The MTA-STS policy's mx lines (policy's mx-host); empty otherwise.</param>
/// <param name="ReceivingMx">The MX host name tried (receiving-mx-hostname); null for a policy failure before any host.</param>
/// <param name="ReceivingIp">The address connected to; null when no connection was made.</param>
/// <param name="SendingIp">Our source address of the connection; null when none.</param>
/// <param name="Detail">Words for additional-information (the failure's detail); null on success.</param>
public sealed record TlsSessionResult(
    DateTimeOffset At,
    string PolicyDomain,
    TlsReportPolicyType PolicyType,
    IReadOnlyList<string> PolicyStrings,
    IReadOnlyList<string> MxPatterns,
    TlsResultType? Failure,
    string? ReceivingMx,
    string? ReceivingIp,
    string? SendingIp,
    string? Detail = null)
{
    public bool Successful => Failure is null;
}

/// <summary>Where remote delivery reports each session for TLS reporting; never waits for storage, never throws.</summary>
public interface ITlsSessionRecorder
{
    void Record(TlsSessionResult result);
}
