namespace SecureMx.Dns;

/// <summary>One mail exchanger of a domain (RFC 5321 §5.1): host name (ASCII, no trailing dot, lower case) and preference.</summary>
public sealed record MxHost(string Name, int Preference);
