namespace SecureMx.Dashboard.Text;

/// <summary>Texts of the mail program settings on the account page (MailClientText.resx, MailClientText.de.resx).</summary>
public sealed class MailClientText;
