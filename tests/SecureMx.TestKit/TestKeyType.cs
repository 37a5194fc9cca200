namespace SecureMx.TestKit;

/// <summary>Key algorithm of a test certificate (and of the private CA that issues it).</summary>
public enum TestKeyType
{
    /// <summary>ECDSA on NIST P-256 with SHA-256 signatures: fast to make, what modern peers use.</summary>
    EcdsaP256,

    /// <summary>RSA 2048 with SHA-256/PKCS#1 v1.5 signatures: needed for RSA key exchange (the TLS 1.0 "weak" peer).</summary>
    Rsa2048,
}
