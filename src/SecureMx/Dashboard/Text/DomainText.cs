namespace SecureMx.Dashboard.Text;

/// <summary>Texts of the domain page, including the outbound TLS warnings the account page shows too (DomainText.resx, DomainText.de.resx).</summary>
public sealed class DomainText;
