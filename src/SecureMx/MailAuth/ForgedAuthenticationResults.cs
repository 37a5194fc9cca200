using System.Text;

namespace SecureMx.MailAuth;

/// <summary>
/// Removes Authentication-Results fields that claim our authserv-id from a message's header section
/// (RFC 8601 §5: such fields arriving from outside are forged, and a reader that trusts our results
/// must not see them); fields of other authserv-ids stay. Works on the bytes as received: every other
/// field keeps its exact octets (DKIM signatures over them still verify).
/// </summary>
public static class ForgedAuthenticationResults
{
    /// <summary>
    /// The header section (up to and including the empty line, or all of it when no empty line was seen)
    /// without our fields; null when there is nothing to remove, so the caller can pass the bytes on untouched.
    /// </summary>
    public static byte[]? Remove(ReadOnlySpan<byte> headerSection, string authservId)
    {
        List<(int Start, int End)>? drop = null;
        int pos = 0;
        while (pos < headerSection.Length)
        {
            int start = pos;
            // A field runs to the CRLF that is not followed by a space or tab (RFC 5322 §2.2.3 folding).
            int end = start;
            while (true)
            {
                int lf = headerSection[end..].IndexOf((byte)'\n');
                end = lf < 0 ? headerSection.Length : end + lf + 1;
                if (end >= headerSection.Length || headerSection[end] is not ((byte)' ' or (byte)'\t')) break;
            }
            var field = headerSection[start..end];
            if (field.Length <= 2 && (field.SequenceEqual("\r\n"u8) || field.SequenceEqual("\n"u8))) break; // the empty line: the body follows
            if (ClaimsOurId(field, authservId)) (drop ??= []).Add((start, end));
            pos = end;
        }
        if (drop is null) return null;
        var result = new byte[headerSection.Length - drop.Sum(d => d.End - d.Start)];
        int written = 0, from = 0;
        foreach (var (s, e) in drop)
        {
            headerSection[from..s].CopyTo(result.AsSpan(written));
            written += s - from;
            from = e;
        }
        headerSection[from..].CopyTo(result.AsSpan(written));
        return result;
    }

    /// <summary>Whether a whole field (name, colon, value with its folds) is Authentication-Results with our authserv-id.</summary>
    public static bool ClaimsOurId(ReadOnlySpan<byte> field, string authservId)
    {
        int colon = field.IndexOf((byte)':');
        if (colon < 0) return false;
        var name = Encoding.ASCII.GetString(field[..colon]).TrimEnd(' ', '\t');
        if (!name.Equals(AuthenticationResultsHeader.FieldName, StringComparison.OrdinalIgnoreCase)) return false;
        var value = Encoding.UTF8.GetString(field[(colon + 1)..]);
        return AuthservId(value) is { } id && id.Equals(authservId.TrimEnd('.'), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The authserv-id of a field value (RFC 8601 §2.2): the first value after comments and folding whitespace.</summary>
    public static string? AuthservId(string value)
    {
        int i = 0;
        SkipCfws(value, ref i);
        if (i >= value.Length) return null;
        if (value[i] == '"')
        {
            var sb = new StringBuilder();
            for (i++; i < value.Length && value[i] != '"'; i++)
            {
                if (value[i] == '\\' && i + 1 < value.Length) i++;
                sb.Append(value[i]);
            }
            return sb.ToString().TrimEnd('.');
        }
        int start = i;
        while (i < value.Length && value[i] is not (';' or ' ' or '\t' or '\r' or '\n' or '(')) i++;
        return value[start..i].TrimEnd('.');
    }

    private static void SkipCfws(string s, ref int i)
    {
        while (i < s.Length)
        {
            if (char.IsWhiteSpace(s[i])) { i++; continue; }
            if (s[i] != '(') return;
            int depth = 0;
            for (; i < s.Length; i++)
            {
                if (s[i] == '\\') { i++; continue; }
                if (s[i] == '(') depth++;
                else if (s[i] == ')' && --depth == 0) { i++; break; }
            }
        }
    }
}
