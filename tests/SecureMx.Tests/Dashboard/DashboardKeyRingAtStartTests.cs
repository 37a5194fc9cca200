using System.Net;

namespace SecureMx.Tests.Dashboard;

/// <summary>The running dashboard keeps its key ring encrypted: no plaintext master key, no framework warning.</summary>
public sealed class DashboardKeyRingAtStartTests(DashboardTestHost host) : IClassFixture<DashboardTestHost>
{
    [Fact]
    public async Task The_started_dashboard_writes_its_key_encrypted_and_logs_no_unencrypted_key_warning()
    {
        var client = host.NewClient();
        using (var response = await client.GetAsync("/login")) Assert.Equal(HttpStatusCode.OK, response.StatusCode); // antiforgery token: a key exists now

        var files = Directory.GetFiles(Path.Combine(host.DataDirectory, "dashboard-keys"), "key-*.xml");
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var xml = await File.ReadAllTextAsync(file, TestContext.Current.CancellationToken);
            Assert.DoesNotContain("<masterKey", xml, StringComparison.Ordinal);
            Assert.Contains("<encryptedSecret", xml, StringComparison.Ordinal);
        }
        Assert.DoesNotContain(host.Warnings, w => w.Contains("No XML encryptor configured", StringComparison.Ordinal));
        Assert.DoesNotContain(host.Warnings, w => w.Contains("unencrypted", StringComparison.OrdinalIgnoreCase));
    }
}
