using System.Security.Cryptography;
using SecureMx.Spool;

namespace SecureMx.Dashboard;

/// <summary>
/// The 256-bit key that encrypts the dashboard's data-protection key ring at rest (DIR/dashboard-keys.key,
/// mode 0600). A key file rather than the instance certificate: a renewed certificate (new key pair) could
/// no longer decrypt the ring, and every signed-in session would end at each renewal.
/// </summary>
public sealed class DashboardKeyRingKey
{
    public const string FileName = "dashboard-keys.key";
    public const int Length = 32;

    private readonly byte[] _key;

    private DashboardKeyRingKey(byte[] key) => _key = key;

    public ReadOnlySpan<byte> Key => _key;

    /// <summary>The key's bytes, read (or made) when first asked for: also what seals DKIM private keys in a shared store (Dkim/DkimSealedKeys), so a cluster shares one key file.</summary>
    public static Func<byte[]> Reader(string dataDirectory) => () => LoadOrCreate(dataDirectory)._key.ToArray();

    /// <summary>Reads DIR/dashboard-keys.key, creating it (random, 0600, written atomically) on first use.</summary>
    public static DashboardKeyRingKey LoadOrCreate(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, FileName);
        if (!File.Exists(path))
        {
            var fresh = RandomNumberGenerator.GetBytes(Length);
            DurableFiles.Default.WriteFileAtomic(path, fresh, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        var key = File.ReadAllBytes(path);
        if (key.Length != Length)
            throw new InvalidDataException($"{path}: expected {Length} bytes, found {key.Length}; restore it from the backup (without it, dashboard sessions cannot be decrypted)");
        return new DashboardKeyRingKey(key);
    }
}
