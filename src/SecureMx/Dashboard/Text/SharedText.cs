namespace SecureMx.Dashboard.Text;

/// <summary>Texts of the layout, login, overview and error pages (SharedText.resx, SharedText.de.resx).</summary>
public sealed class SharedText;
