using System.Security.Cryptography;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SecureMx.Dashboard;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dashboard;

/// <summary>The dashboard's data-protection key ring is encrypted at rest under DIR/dashboard-keys.key.</summary>
public sealed class DashboardKeyRingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private ServiceProvider Ring(ListLogger log)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(new SingleLoggerProvider(log)));
        DashboardKeyRing.Add(services, _dir.Path);
        return services.BuildServiceProvider();
    }

    private string[] KeyFiles() => Directory.GetFiles(_dir.Combine(DashboardKeyRing.DirectoryName), "key-*.xml");

    [Fact]
    public void A_new_key_is_written_encrypted_without_the_unencrypted_key_warning()
    {
        var log = new ListLogger();
        using (var sp = Ring(log)) sp.GetRequiredService<IDataProtectionProvider>().CreateProtector("test").Protect("cookie");

        var file = Assert.Single(KeyFiles());
        var xml = XDocument.Load(file);
        // Element names in the framework's namespace (encryptedSecret is in the data-protection one).
        Assert.DoesNotContain(xml.Descendants(), e => e.Name.LocalName == "masterKey");
        var encrypted = Assert.Single(xml.Descendants(), e => e.Name.LocalName == "encryptedSecret");
        Assert.Contains(nameof(AesGcmXmlDecryptor), (string?)encrypted.Attribute("decryptorType"), StringComparison.Ordinal);
        Assert.DoesNotContain(log.Lines, l => l.Contains("No XML encryptor configured", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) || l.StartsWith("Error", StringComparison.Ordinal));
    }

    [Fact]
    public void The_key_file_is_32_random_bytes_readable_by_the_owner_only()
    {
        var log = new ListLogger();
        using (Ring(log)) { }
        var path = _dir.Combine(DashboardKeyRingKey.FileName);
        Assert.Equal(DashboardKeyRingKey.Length, new FileInfo(path).Length);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        var first = File.ReadAllBytes(path);
        using (Ring(log)) { }
        Assert.Equal(first, File.ReadAllBytes(path)); // reused, not replaced, on the next start
    }

    [Fact]
    public void What_was_protected_before_a_restart_is_readable_after_it()
    {
        string token;
        using (var sp = Ring(new ListLogger())) token = sp.GetRequiredService<IDataProtectionProvider>().CreateProtector("test").Protect("cookie");
        using var again = Ring(new ListLogger());
        Assert.Equal("cookie", again.GetRequiredService<IDataProtectionProvider>().CreateProtector("test").Unprotect(token));
    }

    [Fact]
    public void Another_key_file_cannot_read_the_key_ring()
    {
        string token;
        using (var sp = Ring(new ListLogger())) token = sp.GetRequiredService<IDataProtectionProvider>().CreateProtector("test").Protect("cookie");
        File.Delete(_dir.Combine(DashboardKeyRingKey.FileName));
        using var other = Ring(new ListLogger());
        Assert.ThrowsAny<CryptographicException>(() => other.GetRequiredService<IDataProtectionProvider>().CreateProtector("test").Unprotect(token));
    }

    [Fact]
    public void A_key_file_of_the_wrong_length_stops_the_start_with_its_path()
    {
        File.WriteAllBytes(_dir.Combine(DashboardKeyRingKey.FileName), new byte[5]);
        var ex = Assert.Throws<InvalidDataException>(() => DashboardKeyRingKey.LoadOrCreate(_dir.Path));
        Assert.Contains(DashboardKeyRingKey.FileName, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_changed_ciphertext_byte_fails_the_decryption()
    {
        var key = DashboardKeyRingKey.LoadOrCreate(_dir.Path);
        var info = new AesGcmXmlEncryptor(key).Encrypt(new XElement("masterKey", new XElement("value", "secret")));
        Assert.DoesNotContain("secret", info.EncryptedElement.ToString(), StringComparison.Ordinal);
        var value = info.EncryptedElement.Element("value")!;
        var bytes = Convert.FromBase64String(value.Value);
        bytes[0] ^= 1;
        value.Value = Convert.ToBase64String(bytes);
        var services = new ServiceCollection().AddSingleton(key).BuildServiceProvider();
        Assert.ThrowsAny<CryptographicException>(() => new AesGcmXmlDecryptor(services).Decrypt(info.EncryptedElement));
    }

    private sealed class SingleLoggerProvider(ListLogger log) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => log;

        public void Dispose()
        {
        }
    }
}
