namespace SecureMx.TestKit;

/// <summary>PEM files written by <see cref="TestCertificate.WritePem"/>.</summary>
/// <param name="CertFile">The leaf followed by its issuers: what a server sends (postfix-peer.sh --cert, securemx init --cert).</param>
/// <param name="KeyFile">The leaf's private key, PKCS#8 PEM ("BEGIN PRIVATE KEY"), mode 0600.</param>
/// <param name="CaFile">The private CA certificate alone (a trust anchor for openssl -CAfile), or null for a self-signed leaf.</param>
public sealed record TestCertificateFiles(string CertFile, string KeyFile, string? CaFile);
