namespace SecureMx.Mail;

/// <summary>
/// The outbound switch of a hosted domain or a mailbox: <c>default</c> leaves the level to the
/// global default and the destination table; <c>mandatory</c> raises the sender's mail to
/// <see cref="OutboundTlsLevel.Encrypt"/>, and nothing else lowers it again.
/// </summary>
public enum OutboundTlsSetting { Default, Mandatory }

public static class OutboundTlsSettings
{
    /// <summary>The word the store, the CLI and the audit trail use.</summary>
    public static string Name(this OutboundTlsSetting setting) => setting switch
    {
        OutboundTlsSetting.Default => "default",
        OutboundTlsSetting.Mandatory => "mandatory",
        _ => throw new ArgumentOutOfRangeException(nameof(setting)),
    };

    public static bool TryParse(string text, out OutboundTlsSetting setting) => EnumNames.TryParse(text, Name, out setting);
}
