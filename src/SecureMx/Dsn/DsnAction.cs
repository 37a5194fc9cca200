namespace SecureMx.Dsn;

/// <summary>
/// The Action field of a per-recipient DSN group (RFC 3464 §2.3.3): what the reporting MTA did
/// with the message for that recipient.
/// </summary>
public enum DsnAction
{
    /// <summary>Not delivered yet; the MTA keeps trying (a delay warning).</summary>
    Delayed,

    /// <summary>Could not be delivered; no further attempts will be made (a bounce).</summary>
    Failed,

    /// <summary>Delivered to the recipient's mailbox or to a DSN-aware next hop that accepted responsibility.</summary>
    Delivered,

    /// <summary>Handed to a next hop that does not offer DSNs: no further notifications will come.</summary>
    Relayed,

    /// <summary>Delivered to an alias or list that forwarded it to several addresses.</summary>
    Expanded,
}

/// <summary>Field values and helpers for <see cref="DsnAction"/>.</summary>
public static class DsnActionExtensions
{
    /// <summary>The action-value written in the Action field (RFC 3464 §2.3.3), always lower case.</summary>
    public static string ToFieldValue(this DsnAction action) => action switch
    {
        DsnAction.Delayed => "delayed",
        DsnAction.Failed => "failed",
        DsnAction.Delivered => "delivered",
        DsnAction.Relayed => "relayed",
        DsnAction.Expanded => "expanded",
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, null),
    };
}
