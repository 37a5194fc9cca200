using SecureMx.Tls;

namespace SecureMx.Config;

/// <summary>
/// The PKIX trust of an instance (level verify, MTA-STS): the system's CAs and the CA certificates of
/// <c>delivery.trustAnchorsFile</c>, a relative path read against the data directory as every other
/// file of the configuration. The one place serve, probe and the MTA-STS certificate check load it.
/// (Here and not in Tls/: Tls/ may not use Config/.)
/// </summary>
public static class InstanceTrust
{
    /// <summary>A file that cannot be read or holds no certificate throws <see cref="InvalidOperationException"/> with the reason.</summary>
    public static PkixTrust Load(string dataDirectory, SecureMxOptions options) =>
        PkixTrust.Load(options.Delivery.TrustAnchorsFile.Length == 0 ? null : ConfigLoader.ResolvePath(dataDirectory, options.Delivery.TrustAnchorsFile));
}
