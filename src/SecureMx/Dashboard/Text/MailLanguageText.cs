namespace SecureMx.Dashboard.Text;

/// <summary>Texts of the account page's section for the language of the mail SecureMx sends (MailLanguageText.resx, MailLanguageText.de.resx).</summary>
public sealed class MailLanguageText;
