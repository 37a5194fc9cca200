using SecureMx.Mail;

namespace SecureMx.Dkim;

/// <summary>The key kinds `dkim add --algorithm` offers: RSA 2048 with SHA-256 (RFC 6376 §3.3.1) and Ed25519 with SHA-256 (RFC 8463).</summary>
public enum DkimAlgorithm
{
    Rsa2048,
    Ed25519,
}

public static class DkimAlgorithms
{
    /// <summary>The word of the CLI and the store.</summary>
    public static string Name(this DkimAlgorithm a) => a switch
    {
        DkimAlgorithm.Rsa2048 => "rsa-2048",
        DkimAlgorithm.Ed25519 => "ed25519",
        _ => throw new ArgumentOutOfRangeException(nameof(a)),
    };

    /// <summary>The a= tag of the signature (RFC 6376 §3.5, RFC 8463 §3).</summary>
    public static string SignatureTag(this DkimAlgorithm a) => a == DkimAlgorithm.Ed25519 ? "ed25519-sha256" : "rsa-sha256";

    /// <summary>The k= tag of the key record (RFC 6376 §3.6.1, RFC 8463 §4).</summary>
    public static string KeyTag(this DkimAlgorithm a) => a == DkimAlgorithm.Ed25519 ? "ed25519" : "rsa";

    /// <summary>The short suffix of a default selector, so that keys of both kinds made the same day get different names.</summary>
    public static string SelectorSuffix(this DkimAlgorithm a) => a == DkimAlgorithm.Ed25519 ? "ed" : "rsa";

    public static bool TryParse(string? text, out DkimAlgorithm algorithm) => EnumNames.TryParse(text, Name, out algorithm);
}
