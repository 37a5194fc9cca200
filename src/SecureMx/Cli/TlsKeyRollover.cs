using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using SecureMx.Config;
using SecureMx.Hosting;
using SecureMx.Spool;
using SecureMx.Tls;

namespace SecureMx.Cli;

/// <summary>What <c>tls next-key</c> made: the key, its CSR and the TLSA record to publish next to the current one.</summary>
public sealed record NextKeyCreated(string KeyPath, string CsrPath, string Tlsa, string Algorithm, IReadOnlyList<string> Names);

/// <summary>
/// What <c>tls rollover</c> installed: the certificate now configured and the TLSA record of its key;
/// <paramref name="OldTlsa"/> is null when the certificate carried the next key already (only the retirement was left).
/// </summary>
public sealed record RolloverDone(string CertificatePath, string KeyPath, string Tlsa, bool SelfSigned, string? OldTlsa, bool AlreadyRetired = false);

/// <summary>A certificate chain for the next key as the operator gave it (<c>--cert FILE</c>), read before the command drops to the instance owner.</summary>
public sealed record IssuedCertificate(string File, string Pem)
{
    /// <summary>Bigger than any certificate chain: the file is refused, not read into memory.</summary>
    public const long MaxBytes = 1024 * 1024;

    public static IssuedCertificate Read(string file)
    {
        var full = Path.GetFullPath(file);
        try
        {
            if (new FileInfo(full).Length > MaxBytes) throw new CliException($"--cert {full}: larger than {MaxBytes} bytes, not a certificate chain");
            return new IssuedCertificate(full, System.IO.File.ReadAllText(full));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"--cert {full}: {ex.Message}");
        }
    }
}

/// <summary>
/// The writing side of the "current + next" TLSA rollover (RFC 7671 §8.1): <see cref="CreateNextKey"/>
/// makes the next key and a CSR for it in tls/; <see cref="Rollover"/> makes it the current key,
/// with the certificate a CA issued for it or a new self-signed one; <see cref="RetireIfServed"/>
/// removes the next-key files once the served certificate carries that key (not before: until then
/// they are the only copy of a key whose TLSA record may already be published). Every file is written
/// whole (temporary name, fsync, rename, fsync of the directory).
/// </summary>
public static class TlsKeyRollover
{
    private const UnixFileMode PrivateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>The leaf of the configured certificate (the first PEM certificate of tls.certificate).</summary>
    public static X509Certificate2 LoadServedCertificate(string dir, SecureMxOptions options)
    {
        var path = ConfigLoader.ResolvePath(dir, options.Tls.Certificate);
        try
        {
            return X509CertificateLoader.LoadCertificateFromFile(path);
        }
        catch (Exception ex) when (ex is IOException or CryptographicException or UnauthorizedAccessException)
        {
            throw new CliException($"cannot read the configured certificate {path}: {ex.Message}");
        }
    }

    /// <summary>
    /// Creates tls/next-key.pem (0600) and tls/next-key.csr. The key is of the current key's family
    /// and size (RSA at least 2048 bits, ECDSA on the same curve) unless <paramref name="algorithm"/>
    /// ("rsa" or "ecdsa") says otherwise. An existing next key is kept (CliException) unless
    /// <paramref name="replace"/>; one the served certificate already uses is retired first.
    /// </summary>
    public static NextKeyCreated CreateNextKey(string dir, SecureMxOptions options, bool replace, string? algorithm, DurableFiles files)
    {
        using var served = LoadServedCertificate(dir, options);
        RetireIfServed(dir, served, files);
        var keyPath = NextTlsKey.KeyPath(dir);
        if (File.Exists(keyPath) && !replace)
        {
            string what;
            try
            {
                what = "its TLSA record: " + TlsaMatcher.DaneEeRecord(NextTlsKey.TryReadSpki(dir)!);
            }
            catch (CryptographicException ex)
            {
                what = "it is not a readable key: " + ex.Message;
            }
            throw new CliException($"a next key exists already: {keyPath} ({what}); --replace makes a new one (its TLSA record, if published, must then be replaced too)");
        }
        using var key = NewKey(served, algorithm);
        var names = Names(served, options);
        var keyPem = key.ExportPkcs8PrivateKeyPem();
        var csrPem = CertificateFactory.ServerRequest(key, names).CreateSigningRequestPem();
        Directory.CreateDirectory(Path.GetDirectoryName(keyPath)!);
        files.WriteFileAtomic(keyPath, Encoding.ASCII.GetBytes(keyPem), PrivateMode);
        try
        {
            files.WriteFileAtomic(NextTlsKey.CsrPath(dir), Encoding.ASCII.GetBytes(csrPem));
        }
        catch
        {
            // A key without its CSR (or with the CSR of the key it replaced) is not left behind.
            files.TryDelete(keyPath);
            files.TryDelete(NextTlsKey.CsrPath(dir));
            throw;
        }
        var family = key is RSA rsa ? $"RSA {rsa.KeySize}" : "ECDSA " + CurveName(((ECDsa)key).ExportParameters(false).Curve);
        return new NextKeyCreated(keyPath, NextTlsKey.CsrPath(dir), TlsaMatcher.DaneEeRecord(key.ExportSubjectPublicKeyInfo()), family, names);
    }

    /// <summary>
    /// Makes the next key the current one: the certificate in <paramref name="issued"/> (issued
    /// for the next key; a PEM chain, leaf first) or, without one, a new self-signed certificate for the
    /// same names — only when the current certificate is self-signed too. Writes tls.key then
    /// tls.certificate, then retires the next-key files; a failure in between leaves the next key in
    /// place, and running the command again finishes the switch.
    /// </summary>
    public static RolloverDone Rollover(string dir, SecureMxOptions options, IssuedCertificate? issued, TimeProvider time, DurableFiles files)
    {
        var certPath = ConfigLoader.ResolvePath(dir, options.Tls.Certificate);
        var keyPath = ConfigLoader.ResolvePath(dir, options.Tls.Key);
        if (certPath == keyPath) throw new CliException($"tls.certificate and tls.key are the same file ({certPath}); the rollover writes them separately");
        using var served = LoadServedCertificate(dir, options);
        var oldTlsa = TlsaMatcher.DaneEeRecord(served);
        var nextPath = NextTlsKey.KeyPath(dir);
        if (!File.Exists(nextPath))
            throw new CliException($"there is no next key ({nextPath}); create one with '{CliCommandName.Current} tls next-key --data {dir}', publish its TLSA record and wait twice the TTL first");
        var keyPem = File.ReadAllText(nextPath);
        AsymmetricAlgorithm key;
        try
        {
            key = NextTlsKey.LoadPrivateKey(keyPem);
        }
        catch (CryptographicException ex)
        {
            throw new CliException($"{nextPath}: {ex.Message}; '{CliCommandName.Current} tls next-key --replace' makes a new one");
        }
        using (key)
        {
            var spki = key.ExportSubjectPublicKeyInfo();
            string certPem;
            if (NextTlsKey.Spki(served).AsSpan().SequenceEqual(spki))
            {
                // Installed already (a deploy hook, or a rollover stopped before its last step): only the retirement is left.
                RetireIfServed(dir, served, files);
                return new RolloverDone(certPath, keyPath, TlsaMatcher.DaneEeRecord(spki), IsSelfSigned(served), null);
            }
            bool selfSigned = issued is null;
            if (issued is null)
            {
                if (!IsSelfSigned(served))
                    throw new CliException($"the current certificate was issued by {served.Issuer}, not self-signed; pass --cert FILE with the certificate your CA issued for the next key (its CSR is {NextTlsKey.CsrPath(dir)})");
                using var cert = CertificateFactory.SelfSign(CertificateFactory.ServerRequest(key, Names(served, options)), time);
                certPem = cert.ExportCertificatePem();
            }
            else
            {
                certPem = CheckIssuedCertificate(issued, spki, keyPem);
            }
            try
            {
                files.WriteFileAtomic(keyPath, Encoding.ASCII.GetBytes(keyPem), PrivateMode);
                files.WriteFileAtomic(certPath, Encoding.ASCII.GetBytes(certPem));
            }
            catch (DurableStepException ex)
            {
                throw new CliException($"{ex.Message}; the next key stays in {nextPath}: run the rollover again to finish the switch");
            }
            // The switch is done: the running server's file watch may retire the next-key files before us.
            bool alreadyRetired;
            try
            {
                using var installed = LoadServedCertificate(dir, options);
                alreadyRetired = !RetireIfServed(dir, installed, files) && !File.Exists(nextPath);
            }
            catch (Exception ex) when (ex is IOException or CliException)
            {
                alreadyRetired = !File.Exists(nextPath);
                if (!alreadyRetired) throw new CliException($"installed the next key, but could not retire {nextPath}: {ex.Message}; run the rollover again to finish");
            }
            return new RolloverDone(certPath, keyPath, TlsaMatcher.DaneEeRecord(spki), selfSigned, oldTlsa, alreadyRetired);
        }
    }

    /// <inheritdoc cref="NextKeyRetirement.RetireIfServed"/>
    public static bool RetireIfServed(string dir, X509Certificate2 served, DurableFiles files) => NextKeyRetirement.RetireIfServed(dir, served, files);

    /// <inheritdoc cref="NextKeyRetirement.RetireAtStart"/>
    public static string? RetireAtStart(string dir, SecureMxOptions options) => NextKeyRetirement.RetireAtStart(dir, options);

    private static string CheckIssuedCertificate(IssuedCertificate issued, byte[] nextSpki, string keyPem)
    {
        var (file, pem) = (issued.File, issued.Pem);
        // tls.certificate is world-readable: a private key pasted into the chain must not land there.
        if (pem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
            throw new CliException($"--cert {file}: it holds a private key; give the certificate chain only (the key is {NextTlsKey.KeyFile})");
        var chain = new X509Certificate2Collection();
        try
        {
            chain.ImportFromPem(pem);
        }
        catch (CryptographicException ex)
        {
            throw new CliException($"--cert {file}: {ex.Message}");
        }
        try
        {
            if (chain.Count == 0) throw new CliException($"--cert {file}: no PEM certificate in it");
            if (!NextTlsKey.Spki(chain[0]).AsSpan().SequenceEqual(nextSpki))
                throw new CliException($"--cert {file}: the certificate ({chain[0].Subject}) is not for the next key ({NextTlsKey.KeyFile}); its TLSA record would be {TlsaMatcher.DaneEeRecord(chain[0])}");
            // The pair the server will load: fails here, not at the next start.
            using var pair = X509Certificate2.CreateFromPem(pem, keyPem);
            return pem.EndsWith('\n') ? pem : pem + "\n";
        }
        finally
        {
            foreach (var c in chain) c.Dispose();
        }
    }

    /// <summary>The NIST name of a curve (by its OID), else what .NET calls it.</summary>
    private static string CurveName(ECCurve curve) => curve.Oid.Value switch
    {
        "1.2.840.10045.3.1.7" => "P-256",
        "1.3.132.0.34" => "P-384",
        "1.3.132.0.35" => "P-521",
        _ => curve.Oid.FriendlyName ?? curve.Oid.Value ?? "(unnamed curve)",
    };

    private static bool IsSelfSigned(X509Certificate2 c) => c.SubjectName.RawData.AsSpan().SequenceEqual(c.IssuerName.RawData);

    private static AsymmetricAlgorithm NewKey(X509Certificate2 current, string? algorithm)
    {
        using var currentRsa = current.GetRSAPublicKey();
        using var currentEc = current.GetECDsaPublicKey();
        var family = algorithm?.ToLowerInvariant() ?? (currentEc is not null ? "ecdsa" : "rsa");
        return family switch
        {
            "rsa" => RSA.Create(Math.Max(2048, currentRsa?.KeySize ?? 2048)),
            "ecdsa" => ECDsa.Create(currentEc?.ExportParameters(false).Curve ?? ECCurve.NamedCurves.nistP256),
            _ => throw new CliException($"--algorithm: '{algorithm}' is neither rsa nor ecdsa"),
        };
    }

    /// <summary>The DNS names of the current certificate (it is for the same hosts), else the configured host names.</summary>
    private static List<string> Names(X509Certificate2 current, SecureMxOptions options)
    {
        var names = current.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames()).Distinct().ToList();
        if (names.Count > 0) return names;
        return new[] { options.Hostname, options.EffectiveSecureMxHostname() }.Select(n => n.TrimEnd('.')).Distinct().ToList();
    }
}
