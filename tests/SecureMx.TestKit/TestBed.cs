namespace SecureMx.TestKit;

/// <summary>
/// The zones, hosts and addresses of the DNSSEC test bed by role, as tests/peers/dns-testbed.zones
/// defines them: a fixture writes <c>TestBed.DaneOk.Mx</c>, never the host name itself.
/// </summary>
public static class TestBed
{
    public static TestBedDefinition Definition => TestBedDefinition.Default;

    // the servers of the bed
    public static TestBedAddress Authoritative => Definition.Address(nameof(Authoritative));
    public static TestBedAddress Resolver => Definition.Address(nameof(Resolver));
    public static TestBedAddress Silent => Definition.Address(nameof(Silent));
    public static TestBedAddress Unreachable => Definition.Address(nameof(Unreachable));
    public static TestBedAddress Sender => Definition.Address(nameof(Sender));

    // DNS answers of every kind
    public static TestBedZone MxOk => Definition.Zone(nameof(MxOk));
    public static TestBedZone Equal => Definition.Zone(nameof(Equal));
    public static TestBedZone Implicit => Definition.Zone(nameof(Implicit));
    public static TestBedZone NullMx => Definition.Zone(nameof(NullMx));
    public static TestBedZone NoData => Definition.Zone(nameof(NoData));
    public static TestBedZone Servfail => Definition.Zone(nameof(Servfail));
    public static TestBedZone Unsigned => Definition.Zone(nameof(Unsigned));
    public static string Nx => Definition.Absent(nameof(Nx));

    // one receiving server per kind of TLS
    public static TestBedZone DaneOk => Definition.Zone(nameof(DaneOk));
    public static TestBedZone DaneTa => Definition.Zone(nameof(DaneTa));
    public static TestBedZone TlsaServfail => Definition.Zone(nameof(TlsaServfail));
    public static TestBedZone DaneBad => Definition.Zone(nameof(DaneBad));
    public static TestBedZone Plain => Definition.Zone(nameof(Plain));
    public static TestBedZone Weak => Definition.Zone(nameof(Weak));

    // receivers that answer in every way
    public static TestBedZone Deliver => Definition.Zone(nameof(Deliver));
    public static TestBedZone TwoMx => Definition.Zone(nameof(TwoMx));
    public static TestBedZone Defer => Definition.Zone(nameof(Defer));
    public static TestBedZone Old => Definition.Zone(nameof(Old));
    public static TestBedZone Reject => Definition.Zone(nameof(Reject));
    public static TestBedZone Drop => Definition.Zone(nameof(Drop));

    // SecureMx as a provider runs it
    public static TestBedZone Provider => Definition.Zone(nameof(Provider));
    public static string ProviderSecureMx => Definition.Host(nameof(ProviderSecureMx));
    public static string ProviderMx => Definition.Host(nameof(ProviderMx));
    public static TestBedZone Secure => Definition.Zone(nameof(Secure));

    // the dashboard's customer domain
    public static TestBedZone Demo => Definition.Zone(nameof(Demo));
    public static TestBedAddress DemoDashboard => Definition.Address(nameof(DemoDashboard));

    // REQUIRETLS: a receiver that advertises it (RequireTlsFixture)
    public static TestBedZone RequireTls => Definition.Zone(nameof(RequireTls));

    // MTA-STS: one recipient domain per case (each with its "_mta-sts" TXT and mta-sts host)
    public static TestBedZone StsEnforce => Definition.Zone(nameof(StsEnforce));
    public static TestBedZone StsBadMx => Definition.Zone(nameof(StsBadMx));
    public static TestBedZone StsBadCert => Definition.Zone(nameof(StsBadCert));
    public static TestBedZone StsTesting => Definition.Zone(nameof(StsTesting));
    public static TestBedZone StsDane => Definition.Zone(nameof(StsDane));
    public static TestBedZone StsDown => Definition.Zone(nameof(StsDown));
    public static TestBedZone StsExpire => Definition.Zone(nameof(StsExpire));
    public static TestBedZone StsHostile => Definition.Zone(nameof(StsHostile));
    public static TestBedZone StsSlow => Definition.Zone(nameof(StsSlow));
}
