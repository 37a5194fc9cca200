namespace SecureMx.Store;

/// <summary>What <see cref="TlsReportRepository.Add(IReadOnlyList{ReceivedTlsReportRow}, int, int)"/> did: rows new (0: a duplicate), or the cap that refused them all.</summary>
public readonly record struct TlsReportAddResult(int Added, string? OverCap);
