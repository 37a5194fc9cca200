using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using SecureMx.Dashboard;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// Two dashboards (two nodes, each with its own data directory) on one shared store: what one protects
/// (a cookie) the other reads, with the same DIR/dashboard-keys.key copied to both; the store holds
/// the ring encrypted, never in plain text; a different key file is refused at the start.
/// </summary>
public sealed class SharedKeyRingTests : IDisposable
{
    private readonly TestStore _store = new();
    private readonly TempDirectory _nodeA = new();
    private readonly TempDirectory _nodeB = new();

    public void Dispose()
    {
        _nodeB.Dispose();
        _nodeA.Dispose();
        _store.Dispose();
    }

    private ServiceProvider Ring(string dataDirectory, StoreDatabase? shared)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        DashboardKeyRing.Add(services, dataDirectory, shared);
        return services.BuildServiceProvider();
    }

    private static IDataProtector Protector(ServiceProvider sp) => sp.GetRequiredService<IDataProtectionProvider>().CreateProtector("cookie");

    private void CopyKeyFile(string from, string to) =>
        File.Copy(Path.Combine(from, DashboardKeyRingKey.FileName), Path.Combine(to, DashboardKeyRingKey.FileName));

    [Fact]
    public void A_payload_protected_on_one_node_is_read_on_the_other_and_back()
    {
        string fromA;
        using (var a = Ring(_nodeA.Path, _store.Database)) fromA = Protector(a).Protect("signed in on A");
        CopyKeyFile(_nodeA.Path, _nodeB.Path);

        using var b = Ring(_nodeB.Path, _store.Database);
        Assert.Equal("signed in on A", Protector(b).Unprotect(fromA));
        var fromB = Protector(b).Protect("signed in on B");
        using var a2 = Ring(_nodeA.Path, _store.Database);
        Assert.Equal("signed in on B", Protector(a2).Unprotect(fromB));

        // One key, in the store, not in either node's directory.
        Assert.Equal(1, _store.Count("dashboard_keys"));
        Assert.False(Directory.EnumerateFiles(Path.Combine(_nodeA.Path, DashboardKeyRing.DirectoryName)).Any());
    }

    [Fact]
    public void The_store_holds_the_master_key_encrypted_only()
    {
        using (var a = Ring(_nodeA.Path, _store.Database)) Protector(a).Protect("x");
        var xml = XElement.Parse((string)_store.Database.Scalar("SELECT xml FROM dashboard_keys")!);
        Assert.DoesNotContain(xml.Descendants(), e => e.Name.LocalName == "masterKey");
        Assert.Single(xml.Descendants(), e => e.Name.LocalName == "aesGcmEncryptedKey");
    }

    [Fact]
    public void A_node_with_a_different_key_file_is_refused_at_the_start_with_what_to_do()
    {
        using (var a = Ring(_nodeA.Path, _store.Database)) Protector(a).Protect("x");
        // Node B made its own key file instead of receiving A's.
        var ex = Assert.Throws<InvalidOperationException>(() => Ring(_nodeB.Path, _store.Database));
        Assert.Contains(DashboardKeyRingKey.FileName, ex.Message, StringComparison.Ordinal);
        Assert.Contains("copy it", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void File_system_keys_of_a_single_box_are_not_used_once_it_joins_the_shared_store()
    {
        // Documented: its users log in again once (README, "Running several nodes").
        string before;
        using (var single = Ring(_nodeA.Path, shared: null)) before = Protector(single).Protect("old session");
        using var joined = Ring(_nodeA.Path, _store.Database);
        Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() => Protector(joined).Unprotect(before));
    }
}
