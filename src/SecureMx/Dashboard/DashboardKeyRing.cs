using System.Data.Common;
using System.Security.Cryptography;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using SecureMx.Store;

namespace SecureMx.Dashboard;

/// <summary>
/// The dashboard's data-protection key ring (cookies, antiforgery tokens): kept in DIR/dashboard-keys so that
/// sessions survive a restart, readable by the instance's user only, each key encrypted at rest with
/// AES-256-GCM under DIR/dashboard-keys.key. Nodes that share a store keep the ring there instead
/// (<see cref="StoreKeyRingRepository"/>), so that a login on one node is valid on every other; each node
/// then needs the same DIR/dashboard-keys.key, copied from the first (<see cref="CheckKeyFile"/> refuses
/// a different one). The file-system keys of a single box that joins a cluster are not carried over:
/// its users log in again once.
/// </summary>
public static class DashboardKeyRing
{
    public const string DirectoryName = "dashboard-keys";

    /// <param name="sharedStore">The store several nodes share, where the ring is kept; null: DIR/dashboard-keys.</param>
    public static void Add(IServiceCollection services, string dataDirectory, StoreDatabase? sharedStore = null, TimeProvider? time = null)
    {
        var keys = Directory.CreateDirectory(Path.Combine(dataDirectory, DirectoryName));
        File.SetUnixFileMode(keys.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // A key file, not the instance certificate: ProtectKeysWithCertificate ties the ring to one key pair,
        // and a renewed certificate would end every session (unless each old certificate were kept around).
        var key = DashboardKeyRingKey.LoadOrCreate(dataDirectory);
        services.AddSingleton(key); // the decryptor, created by type name, finds it here
        var protection = services.AddDataProtection().SetApplicationName("SecureMx.Dashboard");
        if (sharedStore is null)
        {
            protection.PersistKeysToFileSystem(keys);
        }
        else
        {
            CheckKeyFile(sharedStore, key);
            var repository = new StoreKeyRingRepository(sharedStore, time ?? TimeProvider.System);
            services.Configure<KeyManagementOptions>(o => o.XmlRepository = repository);
        }
        services.Configure<KeyManagementOptions>(o => o.XmlEncryptor = new AesGcmXmlEncryptor(key));
    }

    /// <summary>
    /// Refuses a DIR/dashboard-keys.key that cannot decrypt the ring another node wrote into the shared store:
    /// the framework would otherwise skip those keys and write new ones the other nodes cannot read, and each
    /// node would end the others' sessions. An unreachable store is left to the first request (503).
    /// </summary>
    public static void CheckKeyFile(StoreDatabase sharedStore, DashboardKeyRingKey key)
    {
        IReadOnlyCollection<XElement> elements;
        try
        {
            elements = new StoreKeyRingRepository(sharedStore, TimeProvider.System).GetAllElements();
        }
        catch (Exception ex) when (StoreUnavailable.Is(ex))
        {
            return;
        }
        foreach (var encrypted in elements.SelectMany(e => e.Descendants("aesGcmEncryptedKey")))
        {
            try
            {
                AesGcmXmlDecryptor.Decrypt(encrypted, key);
            }
            catch (CryptographicException)
            {
                throw new InvalidOperationException(
                    $"{DashboardKeyRingKey.FileName} does not decrypt the dashboard key ring in the shared store: copy it from a node that already runs (every node needs the same file)");
            }
        }
    }
}
