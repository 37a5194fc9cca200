using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using SecureMx.Tls;

namespace SecureMx.MtaSts;

/// <summary>
/// The certificates of the MTA-STS listener, one PEM pair per policy host name in one directory
/// (mtaSts.certificateDirectory): <c>mta-sts.example.com.pem</c> (the chain, leaf first, as certbot's
/// fullchain.pem) and <c>mta-sts.example.com.key</c>. The TLS handshake picks the pair by the name the
/// client sends (SNI); a name without a pair, or no name at all, gets no certificate and the handshake
/// is refused: there is no default certificate, so no client is ever shown one for another name.
/// <para>
/// A pair is read at the first handshake that names it and looked at again (<see cref="CertificateFileState"/>:
/// link target, time, length, mode, content) at a handshake at most every <see cref="RecheckAfter"/>:
/// a renewed or added file is in use without a restart. A pair that cannot be loaded (half written,
/// key and certificate not matching, a certificate that does not name the host) is refused, logged
/// once per state of the files, and the last good pair of that name stays in use.
/// </para>
/// </summary>
public sealed class MtaStsCertificateDirectory(string directory, TimeProvider time, ILogger log)
{
    /// <summary>How long a name's files are trusted to be unchanged before a handshake looks at them again.</summary>
    public static readonly TimeSpan RecheckAfter = TimeSpan.FromSeconds(2);

    /// <summary>The pair in use (null: none loaded yet), the state it was loaded from, the state last refused, when last looked at.</summary>
    private sealed record Entry(SslStreamCertificateContextHolder? Pair, string LoadedState, string? RefusedState, DateTimeOffset CheckedAt);

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _load = new();

    public string Directory => directory;

    /// <summary>The certificate file of a name (the key file is the same with ".key").</summary>
    public string CertificateFile(string name) => Path.Combine(directory, name + ".pem");

    public string KeyFile(string name) => Path.Combine(directory, name + ".key");

    /// <summary>
    /// The pair for a handshake that asked for <paramref name="serverName"/>; null when there is none
    /// (the caller refuses the handshake). Only policy host names (mta-sts. and a domain name) are
    /// looked up: a hostile name never becomes a path.
    /// </summary>
    public SslStreamCertificateContextHolder? For(string? serverName)
    {
        if (Normalize(serverName) is not { } name) return null;
        var now = time.GetUtcNow();
        if (_entries.TryGetValue(name, out var entry) && now - entry.CheckedAt < RecheckAfter) return entry.Pair;
        lock (_load)
        {
            if (_entries.TryGetValue(name, out entry) && now - entry.CheckedAt < RecheckAfter) return entry.Pair;
            // Nothing there: nothing is kept for the name (a flood of made-up names leaves no trace in memory).
            if (entry is null && !(File.Exists(CertificateFile(name)) && File.Exists(KeyFile(name)))) return null;
            var state = CertificateFileState.Of(CertificateFile(name), KeyFile(name));
            if (entry is not null && (state == entry.LoadedState || state == entry.RefusedState))
            {
                _entries[name] = entry with { CheckedAt = now };
                return entry.Pair;
            }
            try
            {
                var loaded = CertificateFactory.Load(CertificateFile(name), KeyFile(name));
                if (!loaded.Certificate.MatchesHostname(name))
                {
                    var subject = loaded.Certificate.Subject;
                    loaded.DisposeUnused();
                    throw new CryptographicException($"the certificate ({subject}) is not valid for {name}");
                }
                _entries[name] = new Entry(loaded, state, null, now);
                log.LogInformation("MTA-STS certificate for {Name}: now {Subject} (SHA-256 {Hash}, valid until {NotAfter:u})", name, loaded.Certificate.Subject,
                    loaded.Certificate.GetCertHashString(HashAlgorithmName.SHA256), loaded.Certificate.NotAfter.ToUniversalTime());
                return loaded;
            }
            catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                log.LogError("MTA-STS certificate for {Name}: {Certificate} + {Key} refused ({Reason}); {Kept}", name, CertificateFile(name), KeyFile(name), ex.Message,
                    entry?.Pair is null ? "the handshakes for this name are refused" : "the previous certificate stays in use");
                _entries[name] = new Entry(entry?.Pair, entry?.LoadedState ?? "", state, now);
                return entry?.Pair;
            }
        }
    }

    /// <summary>The SNI name as a file name: lower case, "mta-sts." and a domain of letters, digits, '-' and '.'; else null.</summary>
    public static string? Normalize(string? serverName)
    {
        if (serverName is null) return null;
        var name = serverName.TrimEnd('.').ToLowerInvariant();
        if (!name.StartsWith("mta-sts.", StringComparison.Ordinal) || name.Length > 253) return null;
        if (!name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '.')) return null;
        return Config.HostnameRules.IsValid(name) ? name : null;
    }
}
