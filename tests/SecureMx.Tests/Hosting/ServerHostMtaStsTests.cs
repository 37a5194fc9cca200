using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SecureMx.Cli;
using SecureMx.Config;
using SecureMx.Hosting;
using SecureMx.MtaSts;
using SecureMx.Store;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Hosting;

/// <summary>`serve` as ServerHost wires it: the MTA-STS policy source delivery takes, its trust anchors, and the refresh service.</summary>
public sealed class ServerHostMtaStsTests
{
    [Fact]
    public void ThePolicySourceIsTheStoreBackedCacheWithTheInstancesTrustAnchors()
    {
        using var dir = new TempDirectory();
        var data = dir.Combine("instance");
        InitCommand.Run(data, "mx.example.test", "off", "off", "off", "off", "off", null, null, null);
        using var ca = TestCertificates.IssuedByPrivateCa("mta-sts.example.org");
        File.WriteAllText(Path.Combine(data, "anchors.pem"), ca.Ca!.ExportCertificatePem() + "\n");
        var options = ConfigLoader.Load(data);
        options.Delivery.TrustAnchorsFile = "anchors.pem"; // relative: to the data directory

        using var host = ServerHost.Build(data, options, TimeProvider.System);
        try
        {
            var source = host.Services.GetRequiredService<IMtaStsPolicySource>();
            Assert.Same(host.Services.GetRequiredService<MtaStsPolicyCache>(), source);
            var trust = host.Services.GetRequiredService<PkixTrust>();
            Assert.Equal(ca.Ca!.Thumbprint, Assert.Single(trust.ExtraAnchors).Thumbprint);
            Assert.Single(host.Services.GetServices<IHostedService>(), s => s is MtaStsRefreshService);
        }
        finally
        {
            host.Services.GetService<StoreDatabase>()?.ReleasePooledConnections();
        }
    }

    [Fact]
    public void AMissingTrustAnchorsFileIsAnErrorNamingTheKey()
    {
        using var dir = new TempDirectory();
        var data = dir.Combine("instance");
        InitCommand.Run(data, "mx.example.test", "off", "off", "off", "off", "off", null, null, null);
        var options = ConfigLoader.Load(data);
        options.Delivery.TrustAnchorsFile = "missing.pem";
        using var host = ServerHost.Build(data, options, TimeProvider.System);
        try
        {
            var error = Assert.Throws<InvalidOperationException>(() => host.Services.GetRequiredService<IMtaStsPolicySource>());
            Assert.Contains("delivery.trustAnchorsFile", error.Message);
        }
        finally
        {
            host.Services.GetService<StoreDatabase>()?.ReleasePooledConnections();
        }
    }
}
