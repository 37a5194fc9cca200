using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecureMx.Config;
using SecureMx.Tls;

namespace SecureMx.MtaSts;

/// <summary>
/// Before a hosted domain goes to enforce: whether the instance's certificate (tls.certificate) is
/// valid by PKIX for every MX name its policy lists. An enforce sender refuses an MX whose
/// certificate is not (RFC 8461 §4.2), so such mail would not arrive: `policy mta-sts … enforce`
/// and the dashboard's MTA-STS switch refuse enforce then (the CLI unless --force), naming the reason per name.
/// </summary>
public static class MtaStsMxCertificateCheck
{
    /// <summary>One line per MX name: valid, or why not; one line when the certificate or the trust anchors cannot be read.</summary>
    public static IReadOnlyList<(string Host, PkixVerdict Verdict)> Check(string dataDirectory, SecureMxOptions options, bool inboundMandatory, DateTimeOffset now)
    {
        var names = HostedMtaStsPolicy.MxNames(options, inboundMandatory);
        var chain = new X509Certificate2Collection();
        PkixTrust trust;
        try
        {
            chain.ImportFromPemFile(ConfigLoader.ResolvePath(dataDirectory, options.Tls.Certificate));
            trust = InstanceTrust.Load(dataDirectory, options);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or InvalidOperationException)
        {
            return names.Select(n => (n, new PkixVerdict(PkixFailure.NotChecked, $"cannot be checked: {ex.Message}"))).ToList();
        }
        if (chain.Count == 0) return names.Select(n => (n, new PkixVerdict(PkixFailure.NoCertificate, "tls.certificate holds no certificate"))).ToList();
        var leaf = chain[0];
        return names.Select(n => (n, trust.Validate(leaf, chain.Skip(1), n, now))).ToList();
    }

    /// <summary>Whether every listed MX name passed: the condition for switching a domain to enforce.</summary>
    public static bool AllValid(IReadOnlyList<(string Host, PkixVerdict Verdict)> verdicts) => verdicts.Count > 0 && verdicts.All(v => v.Verdict.Valid);
}
