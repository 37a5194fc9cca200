using SecureMx.Mail;

namespace SecureMx.Policy;

/// <summary>Which switch makes an account's outgoing mail mandatory-TLS mail.</summary>
public enum MandatoryTlsSource { None, Account, Domain }

/// <summary>
/// What is in effect for the mail of one account (<see cref="OutboundTlsPolicy.ForAccount"/>): its
/// own switch, its domain's switch, and the effective policy to a destination without a table
/// entry. The one source of truth for the dashboard's overview and account page and `policy show`.
/// </summary>
public sealed record AccountTlsPolicy(string Address, OutboundTlsSetting Own, string Domain, OutboundTlsSetting DomainSetting, EffectiveTlsPolicy Effective)
{
    public MandatoryTlsSource MandatoryBy => InEffect(Own, DomainSetting);

    /// <summary>
    /// The rule for lists that already hold both switches (the domain page's accounts): the domain's
    /// switch covers the account whatever its own setting (the strictest applies), and only a domain
    /// administrator changes it; else the account's own.
    /// </summary>
    public static MandatoryTlsSource InEffect(OutboundTlsSetting own, OutboundTlsSetting domain) =>
        domain == OutboundTlsSetting.Mandatory ? MandatoryTlsSource.Domain
        : own == OutboundTlsSetting.Mandatory ? MandatoryTlsSource.Account
        : MandatoryTlsSource.None;

    public bool Mandatory => MandatoryBy != MandatoryTlsSource.None;
}
