namespace SecureMx.Mail;

/// <summary>Where one accepted recipient goes.</summary>
public enum RecipientRoute { Local, Remote }

/// <summary>
/// One recipient of a spooled message. <see cref="Address"/> is the final destination after alias
/// expansion; <see cref="OriginalAddress"/> is what the client gave in RCPT TO (kept for DSNs).
/// </summary>
public sealed record EnvelopeRecipient(
    string Address,
    string OriginalAddress,
    RecipientRoute Route,
    string? Maildir,
    DsnNotify Notify,
    string? OrcptType,
    string? Orcpt);
