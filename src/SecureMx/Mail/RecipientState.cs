namespace SecureMx.Mail;

/// <summary>
/// Per-recipient delivery state: one message can be delivered to some recipients and deferred for
/// others (docs/ARCHITECTURE.md, "Durability"). Delivered and Failed are final.
/// </summary>
public enum RecipientState { Queued, Deferred, Delivered, Failed }
