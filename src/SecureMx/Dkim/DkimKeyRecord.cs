using System.Text;

namespace SecureMx.Dkim;

/// <summary>The TXT record that publishes a key (RFC 6376 §3.6.1, RFC 8463 §4), and its zone-file form.</summary>
public static class DkimKeyRecord
{
    /// <summary>One TXT character-string holds at most 255 octets (RFC 1035 §3.3); a 2048-bit RSA key needs two.</summary>
    public const int MaxStringLength = 255;

    /// <summary>The record's text, as a verifier reassembles it from the strings.</summary>
    public static string Text(DkimKey key) => $"v=DKIM1; k={key.Algorithm.KeyTag()}; p={key.PublicKey}";

    /// <summary>The record's text as zone-file character-strings: quoted, at most 255 octets each, separated by a blank.</summary>
    public static string ZoneFileStrings(string text)
    {
        var parts = new List<string>();
        for (int i = 0; i < text.Length; i += MaxStringLength)
            parts.Add("\"" + text.Substring(i, Math.Min(MaxStringLength, text.Length - i)) + "\"");
        return string.Join(' ', parts);
    }

    /// <summary>The whole zone-file line: <c>SELECTOR._domainkey.DOMAIN. IN TXT "…" "…"</c>.</summary>
    public static string ZoneFileLine(DkimKey key) => $"{key.RecordName}. IN TXT {ZoneFileStrings(Text(key))}";

    /// <summary>
    /// Whether a published TXT record (its strings joined) carries this key: the same p= (blanks ignored,
    /// RFC 6376 §3.6.1 lets FWS appear in base64) and a k= that is absent (rsa) or matches.
    /// </summary>
    public static bool Publishes(string published, DkimKey key)
    {
        string? p = null, k = null;
        foreach (var tag in published.Split(';'))
        {
            var eq = tag.IndexOf('=');
            if (eq < 0) continue;
            var name = tag[..eq].Trim();
            var value = tag[(eq + 1)..];
            if (name == "p") p = Compact(value);
            else if (name == "k") k = value.Trim();
        }
        return p == key.PublicKey && string.Equals(k ?? "rsa", key.Algorithm.KeyTag(), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Null when the TXT answer carries <paramref name="key"/>; else what it holds instead (no record, another key, a failed lookup).</summary>
    public static string? Check(SecureMx.Dns.TxtResolution answer, DkimKey key) => answer.Kind switch
    {
        SecureMx.Dns.TxtResolutionKind.TemporaryFailure => $"lookup failed: {answer.FailureReason}",
        SecureMx.Dns.TxtResolutionKind.None => "no TXT record",
        _ => answer.Records.Any(r => Publishes(r, key)) ? null : "a TXT record with another key",
    };

    private static string Compact(string value)
    {
        var b = new StringBuilder(value.Length);
        foreach (var c in value) if (!char.IsWhiteSpace(c)) b.Append(c);
        return b.ToString();
    }
}
