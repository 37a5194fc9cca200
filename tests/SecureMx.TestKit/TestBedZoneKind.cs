namespace SecureMx.TestKit;

/// <summary>How the test bed delegates and signs a zone (dns-testbed.sh).</summary>
public enum TestBedZoneKind
{
    /// <summary>Signed by knot, its DS in test.: answers validate (AD).</summary>
    Signed,

    /// <summary>Delegated without DS: answers are insecure (no AD).</summary>
    Unsigned,

    /// <summary>Its DS is in test., but its signatures expired: every lookup at or below it is bogus (SERVFAIL).</summary>
    Expired,
}
