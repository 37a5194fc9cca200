namespace SecureMx.Mail;

/// <summary>
/// The TLS requirement a recipient waits on: the message's effective outbound level and where the
/// requirement came from. With <see cref="TlsRequirementSource.DaneRecords"/> the level is the
/// configured one (none, may or dane) and the recipient's TLSA records made TLS mandatory on top;
/// with <see cref="TlsRequirementSource.MtaSts"/> the recipient's MTA-STS policy (enforce) did.
/// </summary>
public readonly record struct RequiredTls(OutboundTlsLevel Level, TlsRequirementSource Source)
{
    /// <summary>A setting (the sender's or the operator's) demanded TLS, not only the recipient's DNS or MTA-STS policy.</summary>
    public bool Mandatory => Source is not (TlsRequirementSource.DaneRecords or TlsRequirementSource.MtaSts);
}
