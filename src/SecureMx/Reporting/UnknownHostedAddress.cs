namespace SecureMx.Reporting;

/// <summary>What generated mail does with an unknown user of a hosted domain.</summary>
public enum UnknownHostedAddress
{
    /// <summary>To the domain's postmaster (a DSN, the digest: somebody there should read it).</summary>
    Postmaster,

    /// <summary>Nobody (a TLS report to an address that does not exist here).</summary>
    LeftOut,
}
