using System.Security.Cryptography;

namespace SecureMx.Tls;

/// <summary>
/// What the certificate watch compares between two polls, for one file: its final link target (certbot
/// re-points symbolic links), modification time, length, mode and a SHA-256 of its content. The mode
/// and the content catch what time and length miss: a deploy hook that only chmods the key, or a key
/// rewritten with the same length inside the same clock tick. A file that cannot be read is a state
/// of its own, so that becoming readable (chown, chmod) is a change.
/// </summary>
public static class CertificateFileState
{
    /// <summary>The state of the pair: the certificate's, then the key's.</summary>
    public static string Of(string certificateFile, string keyFile) => $"{OfFile(certificateFile)}|{OfFile(keyFile)}";

    public static string OfFile(string path)
    {
        try
        {
            var target = File.ResolveLinkTarget(path, returnFinalTarget: true)?.FullName ?? path;
            var info = new FileInfo(target);
            if (!info.Exists) return "missing";
            var mode = OperatingSystem.IsWindows() ? "" : Convert.ToString((int)info.UnixFileMode, 8);
            string content;
            try
            {
                // Certificates and keys are a few kB; a larger file is not read every poll. The bytes are
                // wiped after hashing: the key file must not pile up in the heap, one copy every 2 s.
                if (info.Length <= 1024 * 1024)
                {
                    var bytes = File.ReadAllBytes(target);
                    content = Convert.ToHexString(SHA256.HashData(bytes));
                    CryptographicOperations.ZeroMemory(bytes);
                }
                else
                {
                    content = "large";
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                content = "unreadable:" + ex.GetType().Name;
            }
            return $"{target}:{info.LastWriteTimeUtc.Ticks}:{info.Length}:{mode}:{content}";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "unreadable:" + ex.GetType().Name;
        }
    }
}
