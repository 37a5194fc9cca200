using System.Net;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using SecureMx.Dns;
using SecureMx.Tests.Queue;
using SecureMx.Tls;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// A dashboard whose instance has a next key (tls/next-key.pem, RFC 7671 §8.1) and a resolver that
/// publishes, DNSSEC-secure, the TLSA records <see cref="Published"/> names: the current key's, the next key's, or both.
/// </summary>
public sealed class NextKeyDashboardHost : DashboardTestHost
{
    public byte[] NextSpki { get; private set; } = [];

    /// <summary>What the secure MX's TLSA RRset holds now.</summary>
    public volatile string Published = "current+next";

    protected override Task SeedAsync()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        Directory.CreateDirectory(Path.Combine(DataDirectory, "tls"));
        File.WriteAllText(NextTlsKey.KeyPath(DataDirectory), key.ExportPkcs8PrivateKeyPem());
        NextSpki = key.ExportSubjectPublicKeyInfo();
        return Task.CompletedTask;
    }

    protected override IMailDnsResolver Dns() =>
        new FakeMailDns(TimeProvider.System, (domain, _) => MxResolution.FromRecords(domain, [(Options.EffectiveSecureMxHostname(), 10)], DnsSecurity.Secure, new Random(1)))
        {
            Tlsa = (host, port) =>
            {
                var current = new TlsaRecordData(3, 1, 1, SHA256.HashData(NextTlsKey.Spki(Certificate.Certificate)));
                var next = new TlsaRecordData(3, 1, 1, SHA256.HashData(NextSpki));
                TlsaRecordData[] records = Published switch { "current" => [current], "next" => [next], _ => [current, next] };
                return TlsaResolution.FromAnswer(TlsaResolution.OwnerName(host, port), DnsAnswer<TlsaRecordData>.Found(records, DnsSecurity.Secure));
            },
        };
}

/// <summary>The domain page during a key rollover: both TLSA records to publish, and the live check's word on the next key.</summary>
public sealed partial class DomainPageNextKeyTests(NextKeyDashboardHost host) : IClassFixture<NextKeyDashboardHost>
{
    [GeneratedRegex("""<pre class="record" id="(?<id>tlsa-record(-next)?)">(?<record>[^<]*)</pre>""")]
    private static partial Regex TlsaRecord();

    [GeneratedRegex("""<tr class="check" data-item="tlsa" data-level="(?<level>\w+)" data-verdict="(?<verdict>\w+)">""")]
    private static partial Regex TlsaCheck();

    [GeneratedRegex("""data-next-key-published="(?<published>\w+)">(?<text>[^<]*)<""")]
    private static partial Regex NextKeyNote();

    private async Task<string> PageAsync(string query = "") => await (await host.As(Role.AdminA)).GetPageAsync("/domain/a.test" + query);

    [Fact]
    public async Task TheDnsSectionShowsTheRecordsOfTheCurrentAndTheNextKey()
    {
        var records = TlsaRecord().Matches(await PageAsync()).ToDictionary(m => m.Groups["id"].Value, m => WebUtility.HtmlDecode(m.Groups["record"].Value));
        Assert.EndsWith(" IN TLSA " + TlsaMatcher.DaneEeRecord(host.Certificate.Certificate), records["tlsa-record"], StringComparison.Ordinal);
        Assert.EndsWith(" IN TLSA " + TlsaMatcher.DaneEeRecord(host.NextSpki), records["tlsa-record-next"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("current+next", "ok", "Matches", "yes")]
    [InlineData("current", "ok", "Matches", "no")]
    [InlineData("next", "bad", "MatchesNextKeyOnly", null)]
    public async Task TheCheckJudgesTheLiveRecordsAgainstBothKeys(string published, string level, string verdict, string? nextNote)
    {
        host.Published = published;
        try
        {
            var html = await PageAsync("?check=1");
            var check = TlsaCheck().Match(html);
            Assert.True(check.Success, html);
            Assert.Equal((level, verdict), (check.Groups["level"].Value, check.Groups["verdict"].Value));
            var note = NextKeyNote().Match(html);
            if (nextNote is null)
            {
                Assert.Contains("only for our next key", html);
                Assert.False(note.Success, "no note on the next key where only it matches");
            }
            else
            {
                Assert.Equal(nextNote, note.Groups["published"].Value);
                Assert.Contains(nextNote == "yes" ? "The record of the next key is published too" : "the record of the next key is not published yet", WebUtility.HtmlDecode(note.Groups["text"].Value));
            }
        }
        finally
        {
            host.Published = "current+next";
        }
    }
}
