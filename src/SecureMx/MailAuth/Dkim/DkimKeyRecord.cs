namespace SecureMx.MailAuth.Dkim;

/// <summary>Tag=value lists (RFC 6376 §3.2), as DKIM key records and DMARC records (RFC 7489 §6.4) write them.</summary>
public static class DkimKeyRecord
{
    /// <summary>The tags of a record; names lower-cased, whitespace around values removed, the first of a repeated tag kept.</summary>
    public static Dictionary<string, string> Parse(string record)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in record.Split(';'))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) continue;
            var name = part[..eq].Trim().ToLowerInvariant();
            var value = string.Concat(part[(eq + 1)..].Where(c => !char.IsWhiteSpace(c)));
            tags.TryAdd(name, value);
        }
        return tags;
    }
}
