using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace SecureMx.Dovecot;

/// <summary>
/// The shared secret Dovecot sends with every authentication policy request (X-API-Key), so no other
/// local process can feed the login throttle or probe it: DIR/dovecot/policy.key, mode 0600, made by
/// whichever of `serve` and `dovecot-config` needs it first.
/// </summary>
public static partial class DovecotPolicyKey
{
    /// <summary>256 bits as lower-case hex digits.</summary>
    public const int Length = 64;

    public static string PathIn(string dataDirectory) => Path.Combine(dataDirectory, "dovecot", "policy.key");

    /// <summary>The instance's key, created when there is none.</summary>
    /// <exception cref="InvalidDataException">The file exists but holds no key (the message names it and says what to do).</exception>
    /// <exception cref="IOException">The key cannot be read or written.</exception>
    public static string LoadOrCreate(string dataDirectory)
    {
        var path = PathIn(dataDirectory);
        if (File.Exists(path)) return Read(path);
        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var key = Convert.ToHexString(RandomNumberGenerator.GetBytes(Length / 2)).ToLowerInvariant();
        // Written in full under a name of its own, then linked into place: link(2) refuses an existing
        // name, so when serve and dovecot-config race the first key wins, and neither ever reads a file
        // the other has created but not yet written (File.Move would rename over the winner's key).
        var temporary = Path.Combine(directory, $".policy.key.{Guid.NewGuid():N}");
        try
        {
            using (var f = new FileStream(temporary, new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
            {
                f.Write(System.Text.Encoding.ASCII.GetBytes(key + "\n"));
                f.Flush(flushToDisk: true);
            }
            if (Link(temporary, path) == 0) return key;
            var errno = Marshal.GetLastPInvokeError();
            if (errno != EExist) throw new IOException($"cannot create {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
            return Read(path);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static string Read(string path)
    {
        var key = File.ReadAllText(path).Trim();
        if (key.Length != Length || !key.All(char.IsAsciiHexDigit)) throw new InvalidDataException($"{path} does not hold a key ({Length} hex digits); delete it and run securemx dovecot-config again");
        return key;
    }

    private const int EExist = 17;

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string existing, string created);
}
