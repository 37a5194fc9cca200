using System.Security.Cryptography.X509Certificates;
using SecureMx.Config;

namespace SecureMx.Dashboard;

/// <summary>
/// Strict-Transport-Security (RFC 6797): tells the browser to use only HTTPS for the dashboard's
/// host for a year, so a later visit cannot be downgraded to plain HTTP where a cookie or a
/// password could be read. Without includeSubDomains: other names under the same domain are not ours.
/// </summary>
public static class StrictTransportSecurity
{
    public const string HeaderValue = "max-age=31536000";

    /// <summary>
    /// Whether to send it. <see cref="HstsSetting.Auto"/>: only when the dashboard serves HTTPS with a
    /// certificate that is not self-signed — pinning a name the browser cannot verify would lock users
    /// out behind a certificate warning they could no longer click through (RFC 6797 §12.1).
    /// </summary>
    public static bool Applies(HstsSetting setting, bool https, X509Certificate2? certificate) => setting switch
    {
        HstsSetting.On => true,
        HstsSetting.Off => false,
        _ => https && certificate is not null && !IsSelfSigned(certificate),
    };

    /// <summary>Issued by itself (subject = issuer): the instance's generated certificate, or any other one no CA vouches for.</summary>
    public static bool IsSelfSigned(X509Certificate2 certificate) =>
        certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData);
}
