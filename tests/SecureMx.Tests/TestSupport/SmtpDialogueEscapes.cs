using System.Globalization;
using System.Text;

namespace SecureMx.Tests.TestSupport;

/// <summary>
/// The escapes of a dialogue's client lines, so that any byte can be sent: <c>\r \n \t \0 \\ \}</c>,
/// <c>\xHH</c> (one byte), <c>\{repeat N TEXT}</c> (TEXT N times) and <c>\{base64 TEXT}</c> (TEXT
/// base64-encoded, e.g. AUTH PLAIN's <c>\0user\0password</c>). Everything else is sent as UTF-8.
/// </summary>
public static class SmtpDialogueEscapes
{
    public static byte[] Decode(string text)
    {
        int i = 0;
        var bytes = DecodeUntil(text, ref i, inside: false);
        return bytes.ToArray();
    }

    private static List<byte> DecodeUntil(string text, ref int i, bool inside)
    {
        var bytes = new List<byte>();
        while (i < text.Length)
        {
            char c = text[i];
            if (inside && c == '}')
            {
                i++;
                return bytes;
            }
            if (c != '\\')
            {
                int start = i;
                while (i < text.Length && text[i] != '\\' && !(inside && text[i] == '}')) i++;
                bytes.AddRange(Encoding.UTF8.GetBytes(text[start..i]));
                continue;
            }
            if (i + 1 >= text.Length) throw new FormatException("a line ends in a lone backslash (write \\\\ for one)");
            char e = text[i + 1];
            i += 2;
            switch (e)
            {
                case 'r': bytes.Add(13); break;
                case 'n': bytes.Add(10); break;
                case 't': bytes.Add(9); break;
                case '0': bytes.Add(0); break;
                case '\\': bytes.Add((byte)'\\'); break;
                case '}': bytes.Add((byte)'}'); break;
                case 'x':
                    if (i + 2 > text.Length || !byte.TryParse(text.AsSpan(i, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b))
                        throw new FormatException($"\\x needs two hex digits at column {i - 1}");
                    bytes.Add(b);
                    i += 2;
                    break;
                case '{':
                    bytes.AddRange(Function(text, ref i));
                    break;
                default:
                    throw new FormatException($"unknown escape \\{e} at column {i - 1} (\\r \\n \\t \\0 \\\\ \\}} \\xHH \\{{repeat N TEXT}} \\{{base64 TEXT}})");
            }
        }
        if (inside) throw new FormatException("a \\{ is not closed with }");
        return bytes;
    }

    /// <summary>After "\{": "repeat N TEXT}" or "base64 TEXT}".</summary>
    private static List<byte> Function(string text, ref int i)
    {
        int space = text.IndexOf(' ', i);
        if (space < 0) throw new FormatException("\\{ needs a function: \\{repeat N TEXT} or \\{base64 TEXT}");
        var name = text[i..space];
        i = space + 1;
        switch (name)
        {
            case "repeat":
                int countEnd = text.IndexOf(' ', i);
                if (countEnd < 0 || !int.TryParse(text.AsSpan(i, countEnd - i), NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count < 1)
                    throw new FormatException("\\{repeat N TEXT} needs a count of 1 or more");
                i = countEnd + 1;
                var unit = DecodeUntil(text, ref i, inside: true);
                var repeated = new List<byte>(unit.Count * count);
                for (int k = 0; k < count; k++) repeated.AddRange(unit);
                return repeated;
            case "base64":
                var raw = DecodeUntil(text, ref i, inside: true);
                return [.. Encoding.ASCII.GetBytes(Convert.ToBase64String(raw.ToArray()))];
            default:
                throw new FormatException($"unknown function \\{{{name} (repeat or base64)");
        }
    }
}
