using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SecureMx.Mail;

namespace SecureMx.Tls;

/// <summary>
/// The two TLS profiles of the product. <c>opportunistic</c> takes OpenSSL's defaults (anything is
/// better than plaintext); <c>strict</c> is "TLS 1.2 or 1.3 with secure algorithms": ECDHE key
/// exchange and AEAD ciphers (AES-GCM, ChaCha20-Poly1305) only.
/// </summary>
public sealed class TlsProfile
{
    public static readonly TlsProfile Opportunistic = new("opportunistic", SslProtocols.None, null);
    public static readonly TlsProfile Strict = new("strict", SslProtocols.Tls12 | SslProtocols.Tls13, TlsGrading.StrictSuites);

    public string Name { get; }
    public SslProtocols Protocols { get; }
    public IReadOnlyList<TlsCipherSuite>? CipherSuites { get; }

    private TlsProfile(string name, SslProtocols protocols, IReadOnlyList<TlsCipherSuite>? suites)
    {
        Name = name;
        Protocols = protocols;
        CipherSuites = suites;
    }

    public static TlsProfile Parse(string name) => name.ToLowerInvariant() switch
    {
        "opportunistic" => Opportunistic,
        "strict" => Strict,
        _ => throw new ArgumentException($"unknown TLS profile '{name}' (use opportunistic or strict)"),
    };

    public SslServerAuthenticationOptions ServerOptions(SslStreamCertificateContext certificate)
    {
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = certificate,
            EnabledSslProtocols = Protocols,
            ClientCertificateRequired = false,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            EncryptionPolicy = EncryptionPolicy.RequireEncryption,
            AllowRenegotiation = false,
        };
        options.CipherSuitesPolicy = CipherPolicy();
        return options;
    }

    /// <summary>The OpenSSL cipher-suite policy of this profile (client and server side), or null for OpenSSL's defaults.</summary>
    public CipherSuitesPolicy? CipherPolicy() =>
        CipherSuites is not null && OperatingSystem.IsLinux() ? new CipherSuitesPolicy(CipherSuites) : null;
}
