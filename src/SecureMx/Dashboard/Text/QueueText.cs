namespace SecureMx.Dashboard.Text;

/// <summary>Texts of the deferred mail page (QueueText.resx, QueueText.de.resx).</summary>
public sealed class QueueText;
