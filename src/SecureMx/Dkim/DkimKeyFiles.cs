using System.Text;
using SecureMx.Spool;

namespace SecureMx.Dkim;

/// <summary>
/// Private keys of a single box: DIR/dkim/DOMAIN/SELECTOR.pem, each file 0600 and each directory 0700
/// (the instance's user only), written atomically and fsync'd (temp file, fsync, rename, directory fsync).
/// </summary>
public sealed class DkimKeyFiles(string dataDirectory) : DkimPrivateKeyStore
{
    public const string DirectoryName = "dkim";

    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public string PathOf(string domain, string selector) => Path.Combine(dataDirectory, DirectoryName, domain, selector + ".pem");

    public override void Save(string domain, string selector, string pem)
    {
        var root = Path.Combine(dataDirectory, DirectoryName);
        foreach (var dir in new[] { root, Path.Combine(root, domain) })
        {
            // Created 0700 (never briefly with the umask's mode), and made 0700 if it was there already.
            Directory.CreateDirectory(dir, OwnerOnlyDirectory);
            File.SetUnixFileMode(dir, OwnerOnlyDirectory);
        }
        var bytes = Encoding.ASCII.GetBytes(pem);
        DurableFiles.Default.WriteFileAtomic(PathOf(domain, selector), bytes, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        System.Security.Cryptography.CryptographicOperations.ZeroMemory(bytes);
        DurableFiles.Default.SyncDirectory(root);
    }

    public override string Load(string domain, string selector)
    {
        var path = PathOf(domain, selector);
        try
        {
            return File.ReadAllText(path, Encoding.ASCII);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new DkimKeyUnavailableException($"private key {path} cannot be read: {ex.Message}", ex);
        }
    }

    public override void Delete(string domain, string selector)
    {
        var path = PathOf(domain, selector);
        if (File.Exists(path)) File.Delete(path);
    }
}
