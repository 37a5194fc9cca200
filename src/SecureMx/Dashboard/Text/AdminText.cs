namespace SecureMx.Dashboard.Text;

/// <summary>Texts of the administration page (AdminText.resx, AdminText.de.resx).</summary>
public sealed class AdminText;
