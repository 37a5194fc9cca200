using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using SecureMx.Store;

namespace SecureMx.Dashboard;

/// <summary>
/// The dashboard's data-protection key ring in the store table <c>dashboard_keys</c>, for nodes that share
/// one store: a cookie or antiforgery token issued by one node is accepted by every other. Each element is
/// stored as ASP.NET Core hands it over, that is with its master key already encrypted by
/// <see cref="AesGcmXmlEncryptor"/> under DIR/dashboard-keys.key: the store never holds what decrypts it,
/// and that file is copied to every node (README, "Running several nodes").
/// A store that cannot be reached throws; the dashboard answers 503 (<see cref="StoreUnreachablePage"/>).
/// </summary>
public sealed class StoreKeyRingRepository(StoreDatabase db, TimeProvider time) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements() =>
        db.Rows("SELECT xml FROM dashboard_keys ORDER BY created_at, name", r => XElement.Parse(r.GetString(0))).AsReadOnly();

    public void StoreElement(XElement element, string friendlyName)
    {
        ArgumentNullException.ThrowIfNull(element);
        // friendlyName is "key-GUID" (or "revocation-…"); two nodes creating a key at once write two rows, both valid.
        db.Execute("INSERT INTO dashboard_keys(name, xml, created_at) VALUES(@name, @xml, @at) ON CONFLICT(name) DO UPDATE SET xml = excluded.xml",
            ("@name", string.IsNullOrEmpty(friendlyName) ? "element-" + Guid.NewGuid().ToString("N") : friendlyName),
            ("@xml", element.ToString(SaveOptions.DisableFormatting)),
            ("@at", time.GetUtcNow().ToUnixTimeMilliseconds()));
    }
}
