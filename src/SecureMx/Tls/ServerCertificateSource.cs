using System.Security.Cryptography;

namespace SecureMx.Tls;

/// <summary>
/// The instance's current server certificate (tls.certificate + tls.key), which a renewal can replace
/// while the process runs. Every new TLS handshake (SMTP STARTTLS, implicit-TLS submission, the
/// dashboard) asks for <see cref="Current"/>; a session already in TLS keeps the pair its SslStream
/// was given. A pair that cannot be read, or whose key does not match its certificate, is refused
/// and the previous pair stays in use.
/// </summary>
public sealed class ServerCertificateSource
{
    private readonly object _reloadLock = new();
    private SslStreamCertificateContextHolder? _current;

    /// <param name="initial">The pair loaded at start; null only where the instance has no certificate (tests).</param>
    /// <param name="loadedState">The <see cref="CertificateFileState"/> of the files taken just before <paramref name="initial"/> was read from them.</param>
    public ServerCertificateSource(string certificateFile, string keyFile, SslStreamCertificateContextHolder? initial, string loadedState = "")
    {
        CertificateFile = certificateFile;
        KeyFile = keyFile;
        _current = initial;
        LoadedState = loadedState;
    }

    /// <summary>Loads the pair at start; a missing or broken pair fails the start (there is no previous one to keep).</summary>
    public static ServerCertificateSource Load(string certificateFile, string keyFile)
    {
        // The state first: a renewal between here and the watch's start is then a change the watch sees.
        var state = CertificateFileState.Of(certificateFile, keyFile);
        return new(certificateFile, keyFile, CertificateFactory.Load(certificateFile, keyFile), state);
    }

    /// <summary>
    /// The state of the files as the pair in use at start was read from them: where the certificate
    /// watch starts from, so that a renewal while the server was starting is not missed.
    /// </summary>
    public string LoadedState { get; }

    /// <summary>A source that never changes (no files behind it), for a fixed pair.</summary>
    public static ServerCertificateSource Fixed(SslStreamCertificateContextHolder? pair) => new("", "", pair);

    public string CertificateFile { get; }
    public string KeyFile { get; }

    /// <summary>The pair for the next handshake.</summary>
    public SslStreamCertificateContextHolder? Current => Volatile.Read(ref _current);

    /// <summary>
    /// Reads both files again. A pair with the same chain (every certificate of the file, in order) and
    /// key as now is left alone (a touch, or a renewal that has written only the key so far is refused
    /// below until the certificate follows); a fixed chain with the same leaf (an intermediate added or
    /// replaced) is a new pair.
    /// The previous pair is not disposed: sessions in progress may still hold it.
    /// </summary>
    public CertificateReload Reload()
    {
        if (CertificateFile.Length == 0) return CertificateReload.Unchanged(Current);
        lock (_reloadLock)
        {
            SslStreamCertificateContextHolder loaded;
            try
            {
                loaded = CertificateFactory.Load(CertificateFile, KeyFile);
            }
            catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                return CertificateReload.Refused(Current, Describe(ex));
            }
            var previous = Current;
            if (previous is not null && previous.Certificate.RawData.AsSpan().SequenceEqual(loaded.Certificate.RawData)
                && previous.Chain == loaded.Chain && KeyMatches(previous, loaded))
            {
                loaded.DisposeUnused();
                return CertificateReload.Unchanged(previous);
            }
            Volatile.Write(ref _current, loaded);
            return CertificateReload.Swapped(previous, loaded);
        }
    }

    // The same certificate always carries the same public key; CreateFromPemFile already refused a key that does not match it.
    private static bool KeyMatches(SslStreamCertificateContextHolder a, SslStreamCertificateContextHolder b) =>
        a.Certificate.PublicKey.EncodedKeyValue.RawData.AsSpan().SequenceEqual(b.Certificate.PublicKey.EncodedKeyValue.RawData);

    private static string Describe(Exception ex) => ex switch
    {
        FileNotFoundException f => $"{f.FileName ?? "a file"} not found",
        DirectoryNotFoundException => "a directory of the certificate or key is missing",
        UnauthorizedAccessException => "the certificate or key cannot be read (permissions)",
        CryptographicException c => $"the certificate and key do not form a usable pair ({c.Message})",
        ArgumentException a => $"no PEM certificate or key found ({a.Message})",
        _ => ex.Message,
    };
}

/// <summary>What a reload of the certificate pair did.</summary>
public sealed record CertificateReload(CertificateReloadOutcome Outcome, SslStreamCertificateContextHolder? Previous, SslStreamCertificateContextHolder? Now, string? Reason)
{
    public static CertificateReload Swapped(SslStreamCertificateContextHolder? previous, SslStreamCertificateContextHolder now) => new(CertificateReloadOutcome.Swapped, previous, now, null);
    public static CertificateReload Unchanged(SslStreamCertificateContextHolder? now) => new(CertificateReloadOutcome.Unchanged, now, now, null);
    public static CertificateReload Refused(SslStreamCertificateContextHolder? kept, string reason) => new(CertificateReloadOutcome.Refused, kept, kept, reason);
}

public enum CertificateReloadOutcome { Unchanged, Swapped, Refused }
