namespace SecureMx.Dns;

/// <summary>
/// DNSSEC status of one DNS answer, taken from the AD (Authentic Data) bit of the configured
/// resolver's response (RFC 4035 §3.2.3, RFC 6840 §5.8). SecureMx does not validate signatures
/// itself: like Postfix and Exim it trusts the AD bit only because the resolver is configured to be
/// a local validating resolver (RFC 7672 §1.3, RFC 6698 §A.3 on the "last mile").
/// </summary>
public enum DnsSecurity
{
    /// <summary>AD=0, or no usable answer: the data may have been forged (RFC 4033 §5 "insecure").</summary>
    Insecure = 0,

    /// <summary>AD=1 on a NOERROR or NXDOMAIN answer: the resolver validated the whole chain of trust (RFC 4033 §5 "secure").</summary>
    Secure = 1,
}
