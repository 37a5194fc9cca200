namespace SecureMx.Dashboard.Text;

/// <summary>Texts of the refused-mail report on the domain page (RefusedText.resx, RefusedText.de.resx).</summary>
public sealed class RefusedText;
