namespace SecureMx.Policy;

/// <summary>
/// Subaddresses ("alice+news@example.org", delivery.recipientDelimiter): the part of the local
/// part after the delimiter is the owner's own tag, and the address stands for alice@example.org.
/// </summary>
public static class Subaddress
{
    /// <summary>The address without its tag, or null when it has none (or no delimiter is configured). Expects local@domain.</summary>
    public static string? Base(string address, string delimiter)
    {
        if (delimiter.Length == 0) return null;
        int at = address.LastIndexOf('@');
        int cut = address.IndexOf(delimiter, StringComparison.Ordinal);
        return cut > 0 && cut < at ? address[..cut] + address[at..] : null;
    }
}
