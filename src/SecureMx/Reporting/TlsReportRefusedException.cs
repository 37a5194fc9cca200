namespace SecureMx.Reporting;

/// <summary>
/// A received TLS report that is not taken (too large, a gzip bomb, not JSON, too deep, a required field
/// missing, a domain not hosted here): <see cref="Exception.Message"/> is the short reason for the log
/// line and the HTTPS 400. <see cref="Organization"/> is the reporter when the JSON named it.
/// </summary>
public sealed class TlsReportRefusedException(string reason, string? organization = null) : Exception(reason)
{
    public string? Organization { get; } = organization;
}
