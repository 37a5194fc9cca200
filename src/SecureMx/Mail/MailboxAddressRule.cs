using System.Globalization;
using System.Text;

namespace SecureMx.Mail;

/// <summary>
/// What the local part of a NEW mailbox or alias may be: only what works everywhere an address is
/// used — unquoted in SMTP (RFC 5321 §4.1.2: a receiver should not define mailboxes that need the
/// quoted form), in a dashboard URL path segment, in HTML, as a login name for the dashboard,
/// submission and Dovecot, and as a Maildir name. The SMTP parser accepts more (quoted strings,
/// '/', '&amp;', …) because it must read what others send; this rule decides only what SecureMx
/// creates. Existing mailboxes and aliases are never checked against it.
/// </summary>
public static class MailboxAddressRule
{
    /// <summary>Characters that are valid atext but break a URL path, HTML or a shell line.</summary>
    private const string Refused = "/\\<>\"'&";

    /// <summary>Null when <paramref name="localPart"/> (unquoted, as stored) may be created; else the reason, for the operator.</summary>
    public static string? Check(string localPart)
    {
        if (localPart.Length == 0) return "the local part is empty";
        if (localPart[0] == '.' || localPart[^1] == '.') return "the local part must not begin or end with a dot";
        if (localPart.Contains("..", StringComparison.Ordinal)) return "the local part must not contain two dots in a row";
        if (!IsValidUtf16(localPart)) return "the local part is not valid Unicode";
        foreach (var rune in localPart.EnumerateRunes())
        {
            var category = Rune.GetUnicodeCategory(rune);
            if (Rune.IsWhiteSpace(rune) || category is UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
                return "the local part must not contain white space";
            // Cf: bidirectional overrides and invisible characters make one address look like another.
            if (Rune.IsControl(rune) || category is UnicodeCategory.Format or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned)
                return $"the local part must not contain the control or invisible character U+{rune.Value:X4}";
            if (rune.IsAscii && Refused.Contains((char)rune.Value))
                return $"the local part must not contain '{(char)rune.Value}' (not usable in web addresses, HTML or quoted forms)";
        }
        // Everything else must be a dot-atom: no quoted string is ever needed to write it.
        if (!SmtpAddressParser.IsDotString(localPart, allowUtf8: true))
            return "the local part needs quotes in SMTP; use letters, digits and . - _ + (or other unquoted characters)";
        return null;
    }

    private static bool IsValidUtf16(string text)
    {
        try
        {
            _ = StrictUtf8.GetByteCount(text);
            return true;
        }
        catch (EncoderFallbackException)
        {
            return false;
        }
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
}
