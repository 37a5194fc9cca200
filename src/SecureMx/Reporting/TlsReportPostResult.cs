namespace SecureMx.Reporting;

/// <summary>The outcome of one HTTPS POST of a report: delivered (a 2xx) or not, and in words what happened.</summary>
public sealed record TlsReportPostResult(bool Delivered, string Detail);
