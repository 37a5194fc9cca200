using System.Net;
using SecureMx.Config;
using SecureMx.TestKit;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// The domain page with the MTA-STS listener on, one MX name, and a certificate (tls.certificate) for it
/// from a CA the instance trusts (delivery.trustAnchorsFile): the certificate check before enforce passes.
/// </summary>
public sealed class MtaStsTrustedCertificateDashboardHost : DashboardTestHost
{
    protected override void Configure(SecureMxOptions options)
    {
        options.Hostname = "mx.provider.test";
        options.SecureMxHostname = "mx.provider.test";
        options.Listeners.MtaSts = "127.0.0.1:8444";
        options.Tls.Certificate = "tls/cert.pem";
        options.Tls.Key = "tls/cert.key";
        options.Delivery.TrustAnchorsFile = "tls/cert-ca.pem";
    }

    protected override Task SeedAsync()
    {
        using var certificate = TestCertificates.IssuedByPrivateCa("mx.provider.test");
        certificate.WritePem(Path.Combine(HostDirectory, "tls"), "cert");
        return Task.CompletedTask;
    }
}

/// <summary>The MTA-STS switch when the certificate passes the check: enforce then needs only the acknowledgement.</summary>
public sealed class DomainMtaStsTrustedCertificateTests(MtaStsTrustedCertificateDashboardHost host) : IClassFixture<MtaStsTrustedCertificateDashboardHost>
{
    private string? Mode(string domain) => host.Store.Policies.DomainMtaSts(domain)?.MtaStsMode;

    [Fact]
    public async Task EnforceNeedsTheConfirmation()
    {
        try
        {
            var client = await host.As(Role.AdminA);
            using (var refused = await client.PostFormAsync("/domain/a.test?handler=MtaSts", ("mode", "enforce")))
            {
                Assert.Equal(HttpStatusCode.OK, refused.StatusCode);
                var page = await refused.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
                Assert.Contains("id=\"mta-sts-error\"", page);
                Assert.Contains("enforce needs your confirmation", page);
                Assert.Contains("data-host=\"mx.provider.test\" data-valid=\"true\"", page);
            }
            Assert.Equal("none", Mode("a.test"));
            using var done = await client.PostFormAsync("/domain/a.test?handler=MtaSts", ("mode", "enforce"), ("confirm", "true"));
            Assert.Equal(HttpStatusCode.Redirect, done.StatusCode);
            Assert.Equal("enforce", Mode("a.test"));
        }
        finally
        {
            host.Store.Policies.SetDomainMtaStsMode("a.test", "none", "test");
        }
    }
}
