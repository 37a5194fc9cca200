using Microsoft.Extensions.Logging;
using SecureMx.Tls;

namespace SecureMx.Hosting;

/// <summary>The log lines of a certificate reload, the same for SIGHUP and for the file watch.</summary>
public static class CertificateReloadLog
{
    public static void Write(ILogger log, CertificateReload result, ServerCertificateSource source, string trigger)
    {
        switch (result.Outcome)
        {
            case CertificateReloadOutcome.Swapped:
                log.LogInformation("certificate ({Trigger}): new connections now use {Subject} (SHA-256 {New}, valid until {NotAfter:u}) instead of {Old}; sessions in progress keep theirs",
                    trigger, result.Now!.Certificate.Subject, result.Now.Certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256),
                    result.Now.Certificate.NotAfter.ToUniversalTime(),
                    result.Previous?.Certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256) ?? "none");
                break;
            case CertificateReloadOutcome.Refused:
                log.LogError("certificate ({Trigger}): {Certificate} + {Key} refused, the server keeps using the previous certificate: {Reason}",
                    trigger, source.CertificateFile, source.KeyFile, result.Reason);
                break;
            default:
                log.LogInformation("certificate ({Trigger}): unchanged", trigger);
                break;
        }
    }
}
