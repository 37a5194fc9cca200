namespace SecureMx.Mail;

/// <summary>
/// A hosted domain's inbound switch: <c>opportunistic</c> takes mail with or without TLS;
/// <c>mandatory</c> takes RCPT for the domain only in a secure TLS session, on every listener.
/// </summary>
public enum InboundTlsSetting { Opportunistic, Mandatory }

public static class InboundTlsSettings
{
    /// <summary>The word the store, the CLI and the audit trail use.</summary>
    public static string Name(this InboundTlsSetting setting) => setting switch
    {
        InboundTlsSetting.Opportunistic => "opportunistic",
        InboundTlsSetting.Mandatory => "mandatory",
        _ => throw new ArgumentOutOfRangeException(nameof(setting)),
    };

    public static bool TryParse(string text, out InboundTlsSetting setting) => EnumNames.TryParse(text, Name, out setting);
}
