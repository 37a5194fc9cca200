using System.Net;

namespace SecureMx.Config;

/// <summary>"ADDR:PORT" ("[::1]:25" for IPv6) or "off" in securemx.json and on the command line.</summary>
public static class Endpoint
{
    public const string Off = "off";

    /// <summary>Parses an endpoint; null for "off". Throws <see cref="FormatException"/> with an operator-readable message.</summary>
    public static IPEndPoint? Parse(string text, string what)
    {
        if (string.Equals(text, Off, StringComparison.OrdinalIgnoreCase)) return null;
        // IPv6 needs brackets, so that "::1:25" is never guessed.
        bool shapeOk = text.StartsWith('[') ? text.Contains("]:", StringComparison.Ordinal) : text.Count(c => c == ':') == 1;
        if (shapeOk && IPEndPoint.TryParse(text, out var ep) && ep.Port > 0)
        {
            return ep;
        }
        throw new FormatException($"{what}: '{text}' is not ADDR:PORT (for example 127.0.0.1:2525 or [::1]:2525) or 'off'");
    }

    /// <summary>The endpoint, or null for "off" or an invalid text (reported elsewhere).</summary>
    public static IPEndPoint? TryParseQuiet(string text)
    {
        try { return Parse(text, ""); } catch (FormatException) { return null; }
    }
}
