using SecureMx.Mail;

namespace SecureMx.Policy;

/// <summary>One setting that takes part in the effective level, and where it comes from.</summary>
public sealed record TlsPolicySource(string Origin, OutboundTlsLevel Level)
{
    public const string GlobalDefault = "global default (delivery.defaultTlsLevel)";
}

/// <summary>
/// The effective outbound TLS level for one message and recipient domain, with every setting that
/// took part (for `securemx policy show`, the log and DSNs). <see cref="Decisive"/> is the strictest.
/// <see cref="ReplacedDefault"/> is the global default when a destination entry took its place
/// (then the entry is the first of <see cref="Sources"/>).
/// </summary>
public sealed record EffectiveTlsPolicy(OutboundTlsLevel Level, IReadOnlyList<TlsPolicySource> Sources, TlsPolicySource? ReplacedDefault = null)
{
    public TlsPolicySource Decisive => Sources.Last(s => s.Level == Level);

    /// <summary>Mandatory TLS because of a setting of the sender (domain or account), not of the destination.</summary>
    public bool SenderMandatory => Sources.Any(s => s.Level.RequiresTls() && s.Origin.StartsWith("sender", StringComparison.Ordinal));

    /// <summary>The destination entry that replaced the global default, if any.</summary>
    public TlsPolicySource? Destination => ReplacedDefault is null ? null : Sources[0];

    /// <summary>
    /// Whether a DNSSEC-secure TLSA RRset of an MX host forces DANE for this mail (RFC 7672 §2.2):
    /// always, unless the operator's destination entry lowered the level below dane (none, may) —
    /// then TLSA is not looked up, and a sender's mandatory TLS is strict TLS without DANE.
    /// </summary>
    public bool UsesDane => Destination is not { } entry || entry.Level >= OutboundTlsLevel.Dane;

    /// <summary>
    /// The requirement a recipient waits on when no server met it: the setting that demands TLS (the
    /// sender's, or the operator's destination table or default), else the recipient's DANE records.
    /// </summary>
    public RequiredTls Requirement => new(Level,
        !Level.RequiresTls() ? TlsRequirementSource.DaneRecords
        : Decisive.Origin.StartsWith("sender", StringComparison.Ordinal) ? TlsRequirementSource.Sender
        : TlsRequirementSource.Operator);

    public override string ToString() => $"{Level.Name()} (from {Decisive.Origin})";
}
