using SecureMx.Dashboard;
using SecureMx.Dkim;
using SecureMx.Dns;
using SecureMx.Tls;
using SecureMx.Tests.Queue;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// The DKIM rows of the domain page's DNS check: each key that is not retired has its record looked up
/// through the resolver; an active key without it is bad (its signatures fail), a pending or retiring one a
/// warning; another key at the name, a failed lookup and a resolver that does not answer are told apart.
/// </summary>
public sealed class DomainDnsCheckDkimTests
{
    private const string Domain = "customer.test";
    private const string SecureMxHost = "securemx.provider.test";

    private sealed class TxtDns(IMailDnsResolver rest, Dictionary<string, Func<TxtResolution?>> txt) : IMailDnsResolver
    {
        public Task<MxResolution> ResolveMxAsync(string domain, CancellationToken cancellationToken = default) => rest.ResolveMxAsync(domain, cancellationToken);
        public Task<AddressResolution> ResolveAddressesAsync(string host, CancellationToken cancellationToken = default) => rest.ResolveAddressesAsync(host, cancellationToken);
        public Task<TlsaResolution> ResolveTlsaAsync(string host, int port, CancellationToken cancellationToken = default) => rest.ResolveTlsaAsync(host, port, cancellationToken);

        public async Task<TxtResolution> ResolveTxtAsync(string name, CancellationToken cancellationToken = default)
        {
            if (txt.TryGetValue(name, out var answer) && answer() is { } a) return a;
            if (txt.ContainsKey(name)) await Task.Delay(Timeout.Infinite, cancellationToken); // never answers
            return TxtResolution.NoRecords(name, DnsSecurity.Secure);
        }
    }

    private static DkimKey Key(string selector, DkimKeyState state) =>
        new(Domain, selector, DkimAlgorithm.Ed25519, state, DateTimeOffset.UnixEpoch, DkimKeyGenerator.Generate(DkimAlgorithm.Ed25519).PublicKey);

    private static TxtResolution Record(DkimKey key, string? text = null) => TxtResolution.Found(key.RecordName, [text ?? DkimKeyRecord.Text(key)], DnsSecurity.Secure);

    [Fact]
    public async Task EachKeyThatIsNotRetiredGetsItsVerdictAndLevel()
    {
        var published = Key("published", DkimKeyState.Active);
        var missing = Key("missing", DkimKeyState.Active);
        var pending = Key("pending", DkimKeyState.Pending);
        var retiring = Key("retiring", DkimKeyState.Retiring);
        var other = Key("other", DkimKeyState.Active);
        var failing = Key("failing", DkimKeyState.Active);
        var silent = Key("silent", DkimKeyState.Pending);
        var retired = Key("retired", DkimKeyState.Retired);
        var txt = new Dictionary<string, Func<TxtResolution?>>
        {
            [published.RecordName] = () => Record(published),
            [retiring.RecordName] = () => Record(retiring),
            [other.RecordName] = () => Record(other, $"v=DKIM1; k=ed25519; p={DkimKeyGenerator.Generate(DkimAlgorithm.Ed25519).PublicKey}"),
            [failing.RecordName] = () => TxtResolution.Failed(failing.RecordName, "SERVFAIL"),
            [silent.RecordName] = () => null,
        };
        var mx = new FakeMailDns(TimeProvider.System, (_, _) => MxResolution.FromRecords(Domain, [(SecureMxHost, 10)], DnsSecurity.Secure, new Random(1)))
        {
            Tlsa = (_, _) => TlsaResolution.FromAnswer("_25._tcp." + SecureMxHost, DnsAnswer<TlsaRecordData>.NoData(DnsSecurity.Secure)),
        };
        var r = await new DomainDnsCheck(new TxtDns(mx, txt), TimeProvider.System, TimeSpan.FromSeconds(1))
            .CheckAsync(Domain, SecureMxHost, null, [], null, TestContext.Current.CancellationToken,
                dkimKeys: [published, missing, pending, retiring, other, failing, silent, retired]);
        var rows = r.Dkim!.ToDictionary(d => d.Key.Selector, d => (d.Verdict, d.Level));
        Assert.Equal((DkimRecordVerdict.Published, CheckLevel.Ok), rows["published"]);
        Assert.Equal((DkimRecordVerdict.Missing, CheckLevel.Bad), rows["missing"]);
        Assert.Equal((DkimRecordVerdict.Missing, CheckLevel.Warn), rows["pending"]);
        Assert.Equal((DkimRecordVerdict.Published, CheckLevel.Ok), rows["retiring"]);
        Assert.Equal((DkimRecordVerdict.OtherKey, CheckLevel.Bad), rows["other"]);
        Assert.Equal((DkimRecordVerdict.LookupFailed, CheckLevel.Bad), rows["failing"]);
        Assert.Equal((DkimRecordVerdict.TimedOut, CheckLevel.Warn), rows["silent"]);
        Assert.False(rows.ContainsKey("retired"));
    }

    [Fact]
    public async Task WithoutKeysThereAreNoDkimRows()
    {
        var mx = new FakeMailDns(TimeProvider.System, (_, _) => MxResolution.FromRecords(Domain, [(SecureMxHost, 10)], DnsSecurity.Secure, new Random(1)))
        {
            Tlsa = (_, _) => TlsaResolution.FromAnswer("_25._tcp." + SecureMxHost, DnsAnswer<TlsaRecordData>.NoData(DnsSecurity.Secure)),
        };
        var r = await new DomainDnsCheck(mx, TimeProvider.System).CheckAsync(Domain, SecureMxHost, null, [], null, TestContext.Current.CancellationToken);
        Assert.Null(r.Dkim);
    }
}
