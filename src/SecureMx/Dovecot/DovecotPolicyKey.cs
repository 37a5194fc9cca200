using System.Security.Cryptography;

namespace SecureMx.Dovecot;

/// <summary>
/// The shared secret Dovecot sends with every authentication policy request (X-API-Key), so no other
/// local process can feed the login throttle or probe it: DIR/dovecot/policy.key, mode 0600, made by
/// whichever of `serve` and `dovecot-config` needs it first.
/// </summary>
public static class DovecotPolicyKey
{
    public static string PathIn(string dataDirectory) => Path.Combine(dataDirectory, "dovecot", "policy.key");

    public static string LoadOrCreate(string dataDirectory)
    {
        var path = PathIn(dataDirectory);
        if (File.Exists(path)) return Read(path);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var key = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant();
        try
        {
            // CreateNew: when serve and dovecot-config race, the first key wins and both use it.
            using var f = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
            using var w = new StreamWriter(f);
            w.Write(key + "\n");
            w.Flush();
            f.Flush(flushToDisk: true);
            return key;
        }
        catch (IOException) when (File.Exists(path))
        {
            return Read(path);
        }
    }

    private static string Read(string path)
    {
        var key = File.ReadAllText(path).Trim();
        if (key.Length < 32 || !key.All(char.IsAsciiHexDigit)) throw new InvalidDataException($"{path} does not hold a key (64 hex digits); delete it and run securemx dovecot-config again");
        return key;
    }
}
