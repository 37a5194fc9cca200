using SecureMx.Mail;

namespace SecureMx.MtaSts;

/// <summary>
/// A failed policy discovery or fetch: its RFC 8460 result type and what exactly went wrong (for the
/// log, the store's last_error and the deferral reasons delivery writes).
/// </summary>
public sealed record MtaStsFailure(TlsResultType Type, string Detail)
{
    public static MtaStsFailure FetchError(string detail) => new(TlsResultType.PolicyFetchError, detail);

    public static MtaStsFailure Invalid(string detail) => new(TlsResultType.PolicyInvalid, detail);

    public static MtaStsFailure WebPki(string detail) => new(TlsResultType.WebPkiInvalid, detail);

    /// <summary>"sts-policy-fetch-error: connection refused …": the type first, as logs and TLS reports read it.</summary>
    public override string ToString() => $"{Type.Name()}: {Detail}";
}
