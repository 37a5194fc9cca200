namespace SecureMx.TestKit;

/// <summary>An MX record of a test-bed zone: the host (without the final dot) and its preference.</summary>
public sealed record TestBedMx(string Host, int Preference);
