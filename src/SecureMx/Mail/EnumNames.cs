namespace SecureMx.Mail;

/// <summary>
/// Reads back the words the product writes for its enums (in the store, the CLI, logs and JSON):
/// one loop for every enum with a <c>Name()</c> mapping. Case and surrounding blanks do not matter,
/// as operators type them.
/// </summary>
internal static class EnumNames
{
    public static bool TryParse<T>(string? text, Func<T, string> name, out T value) where T : struct, Enum
    {
        var word = text?.Trim();
        foreach (var candidate in Enum.GetValues<T>())
        {
            if (string.Equals(name(candidate), word, StringComparison.OrdinalIgnoreCase))
            {
                value = candidate;
                return true;
            }
        }
        value = default;
        return false;
    }
}
