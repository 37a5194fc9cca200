using System.Text;

namespace SecureMx.Smtp;

/// <summary>xtext encoding of DSN parameters (RFC 3461 §4).</summary>
public static class Xtext
{
    /// <summary>Decodes xtext; null when it is malformed (bad "+XX", or a char outside "!".."~" / "=").</summary>
    public static string? Decode(string s)
    {
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '+')
            {
                if (i + 2 >= s.Length || !IsUpperHex(s[i + 1]) || !IsUpperHex(s[i + 2])) return null;
                sb.Append((char)Convert.ToByte(s.Substring(i + 1, 2), 16));
                i += 2;
            }
            else if (c < '!' || c > '~' || c == '=') return null;
            else sb.Append(c);
        }
        return sb.ToString();
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
