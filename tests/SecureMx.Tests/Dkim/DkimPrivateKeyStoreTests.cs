using System.Security.Cryptography;
using SecureMx.Dkim;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dkim;

/// <summary>
/// Where private keys live: files that a missing or unreadable file turns into a clear error, and sealed
/// copies (AES-256-GCM) that open only with the same key file and for the same domain and selector.
/// </summary>
public sealed class DkimPrivateKeyStoreTests
{
    [Fact]
    public void AFileKeyReadsBackAndAMissingOneIsAnErrorNamingItsPath()
    {
        using var dir = new TempDirectory();
        var files = new DkimKeyFiles(dir.Path);
        files.Save("example.org", "s1", "PEM TEXT\n");
        Assert.Equal("PEM TEXT\n", files.Load("example.org", "s1"));
        files.Delete("example.org", "s1");
        var error = Assert.Throws<DkimKeyUnavailableException>(() => files.Load("example.org", "s1"));
        Assert.Contains(Path.Combine(dir.Path, "dkim", "example.org", "s1.pem"), error.Message);
    }

    [Fact]
    public void AnUnreadableKeyFileIsAnError()
    {
        if (Environment.UserName == "root") return; // root reads any file: nothing to show there
        using var dir = new TempDirectory();
        var files = new DkimKeyFiles(dir.Path);
        files.Save("example.org", "s1", "PEM TEXT\n");
        File.SetUnixFileMode(files.PathOf("example.org", "s1"), UnixFileMode.None);
        Assert.Throws<DkimKeyUnavailableException>(() => files.Load("example.org", "s1"));
    }

    [Fact]
    public void ASealedKeyOpensOnlyWithTheSameKeyFileAndForItsOwnSelector()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var sealedText = DkimSealedKeys.Seal(key, "example.org", "s1", "PEM TEXT\n");
        Assert.DoesNotContain("PEM", System.Text.Encoding.ASCII.GetString(Convert.FromBase64String(sealedText)));
        Assert.Equal("PEM TEXT\n", DkimSealedKeys.Open(key, "example.org", "s1", sealedText));
        Assert.Throws<DkimKeyUnavailableException>(() => DkimSealedKeys.Open(RandomNumberGenerator.GetBytes(32), "example.org", "s1", sealedText));
        Assert.Throws<DkimKeyUnavailableException>(() => DkimSealedKeys.Open(key, "example.org", "s2", sealedText));
        Assert.Throws<DkimKeyUnavailableException>(() => DkimSealedKeys.Open(key, "example.org", "s1", "not base64!"));
    }

    [Fact]
    public void SealedKeysRoundTripThroughTheStore()
    {
        using var store = new TestStore();
        var key = RandomNumberGenerator.GetBytes(32);
        var keys = new DkimSealedKeys(store.Database, key);
        keys.Save("example.org", "s1", "PEM TEXT\n");
        Assert.Equal("PEM TEXT\n", keys.Load("example.org", "s1"));
        keys.Delete("example.org", "s1");
        Assert.Throws<DkimKeyUnavailableException>(() => keys.Load("example.org", "s1"));
    }
}
