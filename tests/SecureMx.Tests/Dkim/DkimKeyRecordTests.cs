using SecureMx.Dkim;

namespace SecureMx.Tests.Dkim;

/// <summary>The published record: its text per RFC 6376 §3.6.1 / RFC 8463 §4, zone-file strings of at most 255 octets, and the check of a published record.</summary>
public sealed class DkimKeyRecordTests
{
    [Fact]
    public void AnRsa2048RecordIsSplitIntoStringsOfAtMost255Octets()
    {
        var pair = DkimKeyGenerator.Generate(DkimAlgorithm.Rsa2048);
        var key = new DkimKey("example.org", "s1", DkimAlgorithm.Rsa2048, DkimKeyState.Active, DateTimeOffset.UnixEpoch, pair.PublicKey);
        var line = DkimKeyRecord.ZoneFileLine(key);
        Assert.StartsWith("s1._domainkey.example.org. IN TXT \"v=DKIM1; k=rsa; p=MII", line);
        var strings = System.Text.RegularExpressions.Regex.Matches(line, "\"([^\"]*)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.True(strings.Count >= 2);
        Assert.All(strings, s => Assert.True(s.Length <= 255));
        Assert.Equal(DkimKeyRecord.Text(key), string.Concat(strings));
    }

    [Fact]
    public void AnEd25519RecordCarriesTheBare32ByteKey()
    {
        var pair = DkimKeyGenerator.Generate(DkimAlgorithm.Ed25519);
        Assert.Equal(32, Convert.FromBase64String(pair.PublicKey).Length);
        var key = new DkimKey("example.org", "e", DkimAlgorithm.Ed25519, DkimKeyState.Active, DateTimeOffset.UnixEpoch, pair.PublicKey);
        Assert.Equal($"v=DKIM1; k=ed25519; p={pair.PublicKey}", DkimKeyRecord.Text(key));
    }

    [Fact]
    public void APublishedRecordIsRecognisedWithBlanksInTheKeyAndWithoutK()
    {
        var pair = DkimKeyGenerator.Generate(DkimAlgorithm.Rsa2048);
        var key = new DkimKey("example.org", "s1", DkimAlgorithm.Rsa2048, DkimKeyState.Active, DateTimeOffset.UnixEpoch, pair.PublicKey);
        Assert.True(DkimKeyRecord.Publishes(DkimKeyRecord.Text(key), key));
        Assert.True(DkimKeyRecord.Publishes($"v=DKIM1; p={pair.PublicKey[..100]} {pair.PublicKey[100..]}", key));
        Assert.False(DkimKeyRecord.Publishes($"v=DKIM1; k=ed25519; p={pair.PublicKey}", key));
        Assert.False(DkimKeyRecord.Publishes("v=DKIM1; k=rsa; p=", key)); // a revoked key (RFC 6376 §3.6.1)
    }
}
