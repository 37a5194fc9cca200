namespace SecureMx.Mail;

/// <summary>
/// The language of the mail SecureMx writes to an account itself: the human-readable part of its DSNs
/// (bounces, delay warnings, success reports). Chosen per mailbox; English until the account chooses.
/// </summary>
public enum MailLanguage
{
    /// <summary>The default: every account that never chose, and every sender that is not hosted here.</summary>
    English,

    German,
}

public static class MailLanguages
{
    /// <summary>
    /// The word the store and the CLI use: the ISO 639-1 code, which is also the language tag of the
    /// Content-Language field (RFC 3282) and the dashboard's culture name.
    /// </summary>
    public static string Name(this MailLanguage language) => language switch
    {
        MailLanguage.English => "en",
        MailLanguage.German => "de",
        _ => throw new ArgumentOutOfRangeException(nameof(language)),
    };

    public static bool TryParse(string? text, out MailLanguage language) => EnumNames.TryParse(text, Name, out language);

    /// <summary>Every language, in the order the CLI and the dashboard offer them.</summary>
    public static IReadOnlyList<MailLanguage> All { get; } = Enum.GetValues<MailLanguage>();
}
