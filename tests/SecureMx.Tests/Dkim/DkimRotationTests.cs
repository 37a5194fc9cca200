using Microsoft.Extensions.Time.Testing;
using SecureMx.Dkim;
using SecureMx.Dns;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dkim;

/// <summary>
/// `dkim rotate` and the rotation check: the next key waits (pending, not signing) until its record is seen
/// through the resolver with its key; then it signs and the old key of its kind retires, still listed for
/// the retiring period, then retired. A failed lookup, a missing record, another key in the record: nothing
/// moves. Run on a fake resolver and a fake clock.
/// </summary>
public sealed class DkimRotationTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 1, 0, 0, TimeSpan.Zero));
    private readonly TestStore _store;
    private readonly DkimKeyRepository _keys;
    private readonly DkimTestKeys _secrets = new();
    private readonly DkimKeyCreation _creation;
    private readonly FakeTxt _dns = new();
    private readonly DkimRotation _rotation;

    private sealed class FakeTxt : IMailDnsResolver
    {
        public readonly Dictionary<string, TxtResolution> Answers = new(StringComparer.OrdinalIgnoreCase);

        public Task<TxtResolution> ResolveTxtAsync(string name, CancellationToken cancellationToken = default) =>
            Task.FromResult(Answers.TryGetValue(name, out var a) ? a : TxtResolution.NoRecords(name, DnsSecurity.Secure));

        public Task<MxResolution> ResolveMxAsync(string domain, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<AddressResolution> ResolveAddressesAsync(string host, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<TlsaResolution> ResolveTlsaAsync(string host, int port, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }

    public DkimRotationTests()
    {
        _store = new TestStore(_time);
        _store.Mailboxes.AddDomain("example.org");
        _keys = new DkimKeyRepository(_store.Database, _time);
        _creation = new DkimKeyCreation(_keys, _secrets, _time);
        _rotation = new DkimRotation(_keys, _dns, _time);
    }

    public void Dispose() => _store.Dispose();

    private void Publish(DkimKey key) => _dns.Answers[key.RecordName] = TxtResolution.Found(key.RecordName, [DkimKeyRecord.Text(key)], DnsSecurity.Secure);

    private DkimKeyState StateOf(DkimKey key) => _keys.List(key.Domain).Single(k => k.Selector == key.Selector).State;

    [Fact]
    public async Task ThePendingKeySignsOnlyOnceItsRecordIsSeenAndThenTheOldKeyRetires()
    {
        var old = _creation.Create("example.org", "old", DkimAlgorithm.Rsa2048, DkimKeyState.Active);
        _time.Advance(TimeSpan.FromDays(1));
        var next = Assert.Single(_creation.Rotate("example.org"));
        Assert.Equal(("s20261207-rsa", DkimAlgorithm.Rsa2048, DkimKeyState.Pending), (next.Selector, next.Algorithm, next.State));

        Assert.Empty(await _rotation.AdvanceAsync(TestContext.Current.CancellationToken));
        Assert.Equal(["old"], _keys.Active("example.org").Select(k => k.Selector)); // the old key keeps signing meanwhile

        Publish(next);
        var steps = await _rotation.AdvanceAsync(TestContext.Current.CancellationToken);
        Assert.Equal([(next.Selector, DkimKeyState.Active), ("old", DkimKeyState.Retiring)], steps.Select(s => (s.Key.Selector, s.To)));
        Assert.Equal([next.Selector], _keys.Active("example.org").Select(k => k.Selector));
        Assert.Contains("keep its record until 2026-12-14", steps[1].Why);

        _time.Advance(DkimRotation.RetiringPeriod - TimeSpan.FromMinutes(1));
        Assert.Empty(await _rotation.AdvanceAsync(TestContext.Current.CancellationToken));
        Assert.Equal(DkimKeyState.Retiring, StateOf(old));
        _time.Advance(TimeSpan.FromMinutes(1));
        var retired = Assert.Single(await _rotation.AdvanceAsync(TestContext.Current.CancellationToken));
        Assert.Equal(("old", DkimKeyState.Retired), (retired.Key.Selector, retired.To));
    }

    [Fact]
    public async Task ARotationWithBothKindsReplacesEachKindByItsOwnSuccessor()
    {
        var rsa = _creation.Create("example.org", "r0", DkimAlgorithm.Rsa2048, DkimKeyState.Active);
        var ed = _creation.Create("example.org", "e0", DkimAlgorithm.Ed25519, DkimKeyState.Active);
        _time.Advance(TimeSpan.FromDays(1));
        var made = _creation.Rotate("example.org");
        Assert.Equal(["s20261207-ed", "s20261207-rsa"], made.Select(k => k.Selector).Order());
        Publish(made.Single(k => k.Algorithm == DkimAlgorithm.Ed25519));
        await _rotation.AdvanceAsync(TestContext.Current.CancellationToken);
        // Only the Ed25519 successor is published: the RSA key goes on signing, the old Ed25519 key retires.
        Assert.Equal(["r0", "s20261207-ed"], _keys.Active("example.org").Select(k => k.Selector).Order());
        Assert.Equal(DkimKeyState.Retiring, StateOf(ed));
        Assert.Equal(DkimKeyState.Active, StateOf(rsa));
    }

    [Theory]
    [InlineData("failure")]
    [InlineData("other key")]
    [InlineData("revoked")]
    public async Task ARecordThatIsNotThereYetOrCarriesAnotherKeyMovesNothing(string answer)
    {
        _creation.Create("example.org", "old", DkimAlgorithm.Ed25519, DkimKeyState.Active);
        var next = Assert.Single(_creation.Rotate("example.org"));
        _dns.Answers[next.RecordName] = answer switch
        {
            "failure" => TxtResolution.Failed(next.RecordName, "timeout"),
            "other key" => TxtResolution.Found(next.RecordName, [$"v=DKIM1; k=ed25519; p={DkimKeyGenerator.Generate(DkimAlgorithm.Ed25519).PublicKey}"], DnsSecurity.Secure),
            _ => TxtResolution.Found(next.RecordName, ["v=DKIM1; k=ed25519; p="], DnsSecurity.Secure),
        };
        Assert.Empty(await _rotation.AdvanceAsync(TestContext.Current.CancellationToken));
        Assert.Equal(DkimKeyState.Pending, StateOf(next));
        Assert.NotNull(await _rotation.PublishedAsync(next, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void RotateNeedsAnActiveKeyAndOnlyOneRotationAtATime()
    {
        var none = Assert.Throws<StoreException>(() => _creation.Rotate("example.org"));
        Assert.Equal("example.org has no active DKIM key to rotate (securemx dkim add example.org)", none.Message);
        _creation.Create("example.org", "old", DkimAlgorithm.Rsa2048, DkimKeyState.Active);
        var next = Assert.Single(_creation.Rotate("example.org"));
        var twice = Assert.Throws<StoreException>(() => _creation.Rotate("example.org"));
        Assert.Contains($"{next.Selector} (rsa-2048) waits for its record in DNS", twice.Message);
        Assert.Throws<StoreException>(() => _creation.Rotate("example.net"));
    }

    [Fact]
    public void DnsRecordsListsEveryKeyWithWhatItDoesAndMarksTheRetiredOneAsRemovable()
    {
        var keys = new[]
        {
            new DkimKey("example.org", "a", DkimAlgorithm.Ed25519, DkimKeyState.Active, _time.GetUtcNow(), "AAAA"),
            new DkimKey("example.org", "p", DkimAlgorithm.Ed25519, DkimKeyState.Pending, _time.GetUtcNow(), "BBBB"),
            new DkimKey("example.org", "r", DkimAlgorithm.Ed25519, DkimKeyState.Retiring, _time.GetUtcNow(), "CCCC"),
            new DkimKey("example.org", "x", DkimAlgorithm.Ed25519, DkimKeyState.Retired, _time.GetUtcNow(), "DDDD"),
        };
        var lines = SecureMx.Cli.DnsRecordsCommand.DkimRecords(keys).ToList();
        Assert.Contains("a._domainkey.example.org. IN TXT \"v=DKIM1; k=ed25519; p=AAAA\"", lines);
        Assert.Contains("p._domainkey.example.org. IN TXT \"v=DKIM1; k=ed25519; p=BBBB\"", lines);
        Assert.Contains("; r (ed25519): retiring, no longer signs; keep the record until 2026-12-13", lines);
        Assert.Contains("; x._domainkey.example.org. IN TXT \"v=DKIM1; k=ed25519; p=DDDD\"", lines);
        Assert.Contains("; x (ed25519): retired, the record may be removed", lines);
        Assert.Empty(SecureMx.Cli.DnsRecordsCommand.DkimRecords([]));
    }
}
