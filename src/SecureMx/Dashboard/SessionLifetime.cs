namespace SecureMx.Dashboard;

/// <summary>dashboard.sessionMaxLifetime: how long a dashboard login lasts at most, however active it is.</summary>
public sealed record SessionLifetime(TimeSpan Max);
