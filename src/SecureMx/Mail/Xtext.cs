using System.Text;

namespace SecureMx.Mail;

/// <summary>xtext encoding of DSN parameters (RFC 3461 §4).</summary>
public static class Xtext
{
    /// <summary>Decodes xtext; null when it is malformed (bad "+XX", or a char outside "!".."~" / "=").</summary>
    /// <remarks>Hex-encoded octets are collected and decoded as UTF-8, so <see cref="Encode"/> round-trips.</remarks>
    public static string? Decode(string s)
    {
        var bytes = new List<byte>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '+')
            {
                if (i + 2 >= s.Length || !IsUpperHex(s[i + 1]) || !IsUpperHex(s[i + 2])) return null;
                bytes.Add(Convert.ToByte(s.Substring(i + 1, 2), 16));
                i += 2;
            }
            else if (c < '!' || c > '~' || c == '=') return null;
            else bytes.Add((byte)c);
        }
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes.ToArray());
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    public static string Encode(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var b in Encoding.UTF8.GetBytes(s))
        {
            if (b < '!' || b > '~' || b == '+' || b == '=') sb.Append('+').Append(b.ToString("X2"));
            else sb.Append((char)b);
        }
        return sb.ToString();
    }

    private static bool IsUpperHex(char c) => c is (>= '0' and <= '9') or (>= 'A' and <= 'F');
}
