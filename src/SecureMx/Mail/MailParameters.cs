namespace SecureMx.Mail;

/// <summary>The BODY parameter of MAIL FROM (RFC 6152 §2, RFC 3030 §3); BINARYMIME is never advertised.</summary>
public enum BodyType { SevenBit, EightBitMime, BinaryMime }

/// <summary>The RET parameter of MAIL FROM (RFC 3461 §4.3): what a DSN returns of the message.</summary>
public enum DsnReturn { Unspecified, Full, Headers }

/// <summary>The NOTIFY parameter of RCPT TO (RFC 3461 §4.1): which DSNs the sender wants for this recipient.</summary>
[Flags]
public enum DsnNotify { Unspecified = 0, Never = 1, Success = 2, Failure = 4, Delay = 8 }

/// <summary>
/// ESMTP parameters of MAIL FROM: SIZE (RFC 1870), BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531),
/// RET and ENVID (RFC 3461 §4.3, §4.4), REQUIRETLS (RFC 8689 §4.1: every hop over TLS with an
/// authenticated server, else a failure DSN; stored with the message and relayed).
/// </summary>
public sealed record MailParameters(long? Size, BodyType Body, bool SmtpUtf8, DsnReturn Ret, string? EnvId, bool RequireTls = false);

/// <summary>ESMTP parameters of RCPT TO: NOTIFY and ORCPT (RFC 3461 §4.1, §4.2).</summary>
public sealed record RcptParameters(DsnNotify Notify, string? OrcptType, string? Orcpt);
