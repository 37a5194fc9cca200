namespace SecureMx.Dashboard.Text;

/// <summary>Texts of the password change on the account page (PasswordText.resx, PasswordText.de.resx).</summary>
public sealed class PasswordText;
