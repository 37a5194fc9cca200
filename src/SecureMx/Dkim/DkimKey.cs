namespace SecureMx.Dkim;

/// <summary>
/// A DKIM key of a hosted domain as the store keeps it: no private part (that lives in
/// <see cref="DkimPrivateKeyStore"/>). <see cref="PublicKey"/> is the base64 p= value of the key record:
/// the SubjectPublicKeyInfo for RSA (RFC 6376 §3.6.1), the raw 32-byte key for Ed25519 (RFC 8463 §4).
/// </summary>
public sealed record DkimKey(string Domain, string Selector, DkimAlgorithm Algorithm, DkimKeyState State, DateTimeOffset CreatedAt, string PublicKey)
{
    /// <summary>When the key entered its <see cref="State"/> (a retiring key retires <see cref="DkimRotation.RetiringPeriod"/> later).</summary>
    public DateTimeOffset StateChangedAt { get; init; } = CreatedAt;

    /// <summary>The owner name of the key record (RFC 6376 §3.6.2.1).</summary>
    public string RecordName => $"{Selector}._domainkey.{Domain}";
}
