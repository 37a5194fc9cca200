namespace SecureMx.Dashboard.Text;

/// <summary>Texts of the readiness previews (ReadinessText.resx, ReadinessText.de.resx).</summary>
public sealed class ReadinessText;
