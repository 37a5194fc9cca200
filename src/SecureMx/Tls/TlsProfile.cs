using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SecureMx.Mail;

namespace SecureMx.Tls;

/// <summary>
/// The two TLS profiles of the product. <c>strict</c> is "TLS 1.2 or 1.3 with secure algorithms":
/// ECDHE key exchange and AEAD ciphers (AES-GCM, ChaCha20-Poly1305) only. <c>opportunistic</c> is
/// "any encryption beats none" (RFC 7435 §3): TLS 1.0 to 1.3 and every suite that encrypts
/// (<see cref="LegacySuites"/>), at OpenSSL security level 0 — a peer that can do no better than
/// TLS 1.0 with CBC gets that, recorded as weak TLS, instead of plaintext.
/// </summary>
public sealed class TlsProfile
{
#pragma warning disable SYSLIB0039, CA5397 // TLS 1.0 and 1.1: enabled on purpose, for opportunistic TLS only
    private const SslProtocols EveryTlsVersion = SslProtocols.Tls | SslProtocols.Tls11 | SslProtocols.Tls12 | SslProtocols.Tls13;
#pragma warning restore SYSLIB0039, CA5397

    /// <summary>
    /// Every suite that encrypts, strongest first: TLS 1.3, then ECDHE and DHE with AEAD, then CBC,
    /// then RSA key exchange, then 3DES — never NULL, anonymous, export, DES or RC4. Declared before
    /// the profiles: static fields are initialised in the order they are written.
    /// </summary>
    public static IReadOnlyList<TlsCipherSuite> LegacySuites { get; } =
    [
        .. TlsGrading.StrictSuites,
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_CBC_SHA256,
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_CBC_SHA256,
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_CBC_SHA,
        TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_CBC_SHA,
        TlsCipherSuite.TLS_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA256,
        TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA256,
        TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA,
        TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
        TlsCipherSuite.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
    ];

    public static readonly TlsProfile Opportunistic = new("opportunistic", EveryTlsVersion, LegacySuites, lowestSecurityLevel: true);
    public static readonly TlsProfile Strict = new("strict", SslProtocols.Tls12 | SslProtocols.Tls13, TlsGrading.StrictSuites, lowestSecurityLevel: false);

    public string Name { get; }
    public SslProtocols Protocols { get; }
    public IReadOnlyList<TlsCipherSuite>? CipherSuites { get; }

    /// <summary>
    /// OpenSSL security level 0 for this profile's handshakes. OpenSSL 3 refuses TLS 1.0/1.1 (their
    /// SHA-1 signatures) from level 1 up, and Debian's openssl.cnf sets level 2 and MinProtocol TLSv1.2
    /// for the whole process. .NET lowers both for one SslStream only: explicit EnabledSslProtocols
    /// reset the configured protocol floor, and an EncryptionPolicy other than RequireEncryption sets
    /// level 0 (dotnet/runtime, pal_ssl.c: CryptoNative_SslCtxSetProtocolOptions and
    /// CryptoNative_SslCtxSetEncryptionPolicy). That policy would also allow the NULL ciphers
    /// ("ALL:eNULL"), unless a CipherSuitesPolicy is given: then its list is the cipher list, and
    /// <see cref="LegacySuites"/> has no suite without encryption. Such a handshake never shares
    /// OpenSSL's cached SSL_CTX with the strict ones (.NET caches only contexts without either policy).
    /// </summary>
    public bool LowestSecurityLevel { get; }

    private TlsProfile(string name, SslProtocols protocols, IReadOnlyList<TlsCipherSuite>? suites, bool lowestSecurityLevel)
    {
        Name = name;
        Protocols = protocols;
        CipherSuites = suites;
        LowestSecurityLevel = lowestSecurityLevel;
    }

    public static TlsProfile Parse(string name) => name.ToLowerInvariant() switch
    {
        "opportunistic" => Opportunistic,
        "strict" => Strict,
        _ => throw new ArgumentException($"unknown TLS profile '{name}' (use opportunistic or strict)"),
    };

    // One set of server options per certificate pair: SslStream copies them at each handshake, so they are shared, and the
    // cipher-suite policy is built once, not per session. Weak keys: a renewed pair's options go with the old pair.
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<SslStreamCertificateContext, SslServerAuthenticationOptions> _serverOptions = new();

    /// <summary>The server options of this profile for <paramref name="certificate"/>; the same instance for every handshake with it (never change it).</summary>
    public SslServerAuthenticationOptions ServerOptions(SslStreamCertificateContext certificate) =>
        _serverOptions.TryGetValue(certificate, out var options) ? options : _serverOptions.GetValue(certificate, NewServerOptions);

    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<SslStreamCertificateContext, SslServerAuthenticationOptions> _tls13Options = new();

    /// <summary>
    /// The server options for a handshake whose ClientHello offered <paramref name="offered"/>. A client that offers
    /// TLS 1.3, where this profile allows it, gets TLS 1.3 options without a cipher-suite policy: OpenSSL's TLS 1.3 suites
    /// are exactly the strict ones (AES-GCM and ChaCha20-Poly1305, <see cref="TlsGrading.StrictSuites"/>), and only options
    /// without a policy let .NET keep one OpenSSL context per certificate (no SSL_CTX built per handshake, session tickets
    /// possible). Every other client gets <see cref="ServerOptions(SslStreamCertificateContext)"/>.
    /// </summary>
    public SslServerAuthenticationOptions ServerOptions(SslStreamCertificateContext certificate, SslProtocols offered) =>
        (offered & Protocols & SslProtocols.Tls13) != 0
            ? _tls13Options.TryGetValue(certificate, out var options) ? options : _tls13Options.GetValue(certificate, NewTls13Options)
            : ServerOptions(certificate);

    private static SslServerAuthenticationOptions NewTls13Options(SslStreamCertificateContext certificate) => new()
    {
        ServerCertificateContext = certificate,
        EnabledSslProtocols = SslProtocols.Tls13,
        ClientCertificateRequired = false,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        EncryptionPolicy = EncryptionPolicy.RequireEncryption,
        AllowRenegotiation = false,
    };

    private SslServerAuthenticationOptions NewServerOptions(SslStreamCertificateContext certificate)
    {
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = certificate,
            EnabledSslProtocols = Protocols,
            ClientCertificateRequired = false,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            EncryptionPolicy = EncryptionPolicy,
            AllowRenegotiation = false,
        };
        options.CipherSuitesPolicy = CipherPolicy();
        return options;
    }

    /// <summary>Sets this profile's protocols, suites and security level on a client handshake.</summary>
    public void ApplyTo(SslClientAuthenticationOptions options)
    {
        options.EnabledSslProtocols = Protocols;
        options.CipherSuitesPolicy = CipherPolicy();
        options.EncryptionPolicy = EncryptionPolicy;
    }

#pragma warning disable SYSLIB0040 // AllowNoEncryption: the only per-stream way to OpenSSL security level 0 (see LowestSecurityLevel)
    private EncryptionPolicy EncryptionPolicy =>
        LowestSecurityLevel && CipherPolicy() is not null ? EncryptionPolicy.AllowNoEncryption : EncryptionPolicy.RequireEncryption;
#pragma warning restore SYSLIB0040

    /// <summary>The OpenSSL cipher-suite policy of this profile (client and server side), or null for OpenSSL's defaults.</summary>
    public CipherSuitesPolicy? CipherPolicy() =>
        CipherSuites is not null && OperatingSystem.IsLinux() ? new CipherSuitesPolicy(CipherSuites) : null;
}
