namespace SecureMx.Store;

/// <summary>One row of report_sends: a daily report claimed, and sent (SentAt) or not yet.</summary>
public sealed record ReportSend(string Kind, string Domain, DateTimeOffset Day, string Node, DateTimeOffset ClaimedAt, DateTimeOffset? SentAt, string? Result);
