using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;

namespace SecureMx.Dashboard;

/// <summary>
/// The dashboard's data-protection key ring (cookies, antiforgery tokens): kept in DIR/dashboard-keys so that
/// sessions survive a restart, readable by the instance's user only, each key encrypted at rest with
/// AES-256-GCM under DIR/dashboard-keys.key.
/// </summary>
public static class DashboardKeyRing
{
    public const string DirectoryName = "dashboard-keys";

    public static void Add(IServiceCollection services, string dataDirectory)
    {
        var keys = Directory.CreateDirectory(Path.Combine(dataDirectory, DirectoryName));
        File.SetUnixFileMode(keys.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        // A key file, not the instance certificate: ProtectKeysWithCertificate ties the ring to one key pair,
        // and a renewed certificate would end every session (unless each old certificate were kept around).
        var key = DashboardKeyRingKey.LoadOrCreate(dataDirectory);
        services.AddSingleton(key); // the decryptor, created by type name, finds it here
        services.AddDataProtection().SetApplicationName("SecureMx.Dashboard").PersistKeysToFileSystem(keys);
        services.Configure<KeyManagementOptions>(o => o.XmlEncryptor = new AesGcmXmlEncryptor(key));
    }
}
