namespace SecureMx.Dashboard.Text;

/// <summary>Texts of the account page (AccountText.resx, AccountText.de.resx).</summary>
public sealed class AccountText;
