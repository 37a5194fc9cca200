namespace SecureMx.Dashboard.Text;

/// <summary>Texts of the delivery log page (LogText.resx, LogText.de.resx).</summary>
public sealed class LogText;
