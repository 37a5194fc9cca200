namespace SecureMx.Tls;

/// <summary>
/// One TLSA record (RFC 6698 §2.1): certificate usage (RFC 7218 names: 0 PKIX-TA, 1 PKIX-EE,
/// 2 DANE-TA, 3 DANE-EE; SMTP uses only 2 and 3, RFC 7672 §3.1), selector (0 full certificate,
/// 1 SubjectPublicKeyInfo), matching type (0 exact, 1 SHA-256, 2 SHA-512) and the association data.
/// </summary>
public sealed class TlsaRecordData : IEquatable<TlsaRecordData>
{
    public TlsaRecordData(byte usage, byte selector, byte matchingType, ReadOnlySpan<byte> data)
    {
        Usage = usage;
        Selector = selector;
        MatchingType = matchingType;
        _data = data.ToArray();
    }

    private readonly byte[] _data;

    public byte Usage { get; }

    public byte Selector { get; }

    public byte MatchingType { get; }

    /// <summary>Certificate association data (a copy-free view; never modified).</summary>
    public ReadOnlyMemory<byte> Data => _data;

    /// <summary>Presentation format, e.g. "3 1 1 8f2d…" (RFC 6698 §2.2, hex in lower case).</summary>
    public override string ToString() => $"{Usage} {Selector} {MatchingType} {Convert.ToHexStringLower(_data)}";

    public bool Equals(TlsaRecordData? other) =>
        other is not null && Usage == other.Usage && Selector == other.Selector && MatchingType == other.MatchingType && _data.AsSpan().SequenceEqual(other._data);

    public override bool Equals(object? obj) => Equals(obj as TlsaRecordData);

    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Usage);
        h.Add(Selector);
        h.Add(MatchingType);
        h.AddBytes(_data);
        return h.ToHashCode();
    }
}
