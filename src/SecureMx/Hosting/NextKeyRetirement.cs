using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Spool;
using SecureMx.Tls;

namespace SecureMx.Hosting;

/// <summary>
/// The end of an RFC 7671 §8.1 rollover: once the served certificate carries the next key, the
/// next-key files have done their job and are removed (the key lives on in tls.key). Checked by
/// <c>tls rollover</c>, at the server's start and after every certificate reload (SIGHUP, file watch),
/// so a deploy hook that installs a certificate for the next key retires it without a restart.
/// </summary>
public static class NextKeyRetirement
{
    /// <summary>
    /// Removes tls/next-key.pem and its CSR when <paramref name="served"/> carries that key: the key
    /// lives on in tls.key. Answers whether it did; a next key that is another key, or unreadable, stays,
    /// and one that went between the look and the read (retired by the running server, or by <c>tls
    /// rollover</c>) is no next key: false.
    /// </summary>
    public static bool RetireIfServed(string dir, X509Certificate2 served, DurableFiles files)
    {
        byte[]? next;
        try
        {
            next = NextTlsKey.TryReadSpki(dir);
        }
        catch (CryptographicException)
        {
            return false;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return false; // File.Exists then the read: retired by the other one in between
        }
        if (next is null || !next.AsSpan().SequenceEqual(NextTlsKey.Spki(served))) return false;
        files.Delete(NextTlsKey.KeyPath(dir));
        files.TryDelete(NextTlsKey.CsrPath(dir));
        files.SyncDirectory(Path.GetDirectoryName(NextTlsKey.KeyPath(dir))!);
        return true;
    }

    /// <summary>
    /// At the server's start: the certificate it is about to serve may carry the next key (installed by
    /// a deploy hook); then the next-key files are retired. Never stops the start: problems are one line.
    /// </summary>
    public static string? RetireAtStart(string dir, SecureMxOptions options)
    {
        if (!File.Exists(NextTlsKey.KeyPath(dir))) return null;
        try
        {
            using var served = X509CertificateLoader.LoadCertificateFromFile(ConfigLoader.ResolvePath(dir, options.Tls.Certificate));
            return RetireIfServed(dir, served, DurableFiles.Default)
                ? $"the certificate carries the next key now: retired {NextTlsKey.KeyFile} and {NextTlsKey.CsrFile}; remove the old TLSA record from DNS"
                : null;
        }
        catch (Exception ex) when (ex is IOException or CryptographicException or UnauthorizedAccessException)
        {
            return $"could not check {NextTlsKey.KeyFile} against the certificate: {ex.Message}";
        }
    }

    /// <summary>After a reload that swapped the pair: retire the next key when the new certificate carries it; one log line either way it matters.</summary>
    public static void AfterReload(string dir, CertificateReload result, ILogger log)
    {
        if (result.Outcome != CertificateReloadOutcome.Swapped || result.Now is null || !File.Exists(NextTlsKey.KeyPath(dir))) return;
        try
        {
            if (RetireIfServed(dir, result.Now.Certificate, DurableFiles.Default))
                log.LogWarning("certificate: the certificate carries the next key now: retired {KeyFile} and {CsrFile}; remove the old TLSA record from DNS",
                    NextTlsKey.KeyFile, NextTlsKey.CsrFile);
        }
        catch (Exception ex) when (ex is IOException or CryptographicException or UnauthorizedAccessException)
        {
            log.LogError("certificate: could not retire {KeyFile} after the reload: {Reason}", NextTlsKey.KeyFile, ex.Message);
        }
    }
}
