using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Auth;
using SecureMx.Config;
using SecureMx.Dovecot;
using SecureMx.Hosting;
using SecureMx.Smtp;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Hosting;

/// <summary>
/// serve's part of the policy endpoint: nothing unless listeners.dovecotPolicy names an address, the
/// instance's key, and a clear start-up error (never a crash) when the port is taken or the key file is bad.
/// </summary>
public sealed class DovecotPolicyServiceTests : IDisposable
{
    private readonly TestStore _store = new();

    public void Dispose() => _store.Dispose();

    private DovecotPolicyService Service(string endpoint) =>
        new(_store.DataDirectory, new SecureMxOptions { Listeners = { DovecotPolicy = endpoint } },
            new AccountAuthenticator(_store.Mailboxes, new AuthOptions { FailureDelay = "0s" }, TimeProvider.System, NullLogger.Instance), NullLoggerFactory.Instance);

    private static IPEndPoint FreeLoopbackEndpoint()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (IPEndPoint)s.LocalEndPoint!;
    }

    [Fact]
    public async Task OffStartsNothingAndMakesNoKey()
    {
        await using var service = Service("off");
        await service.StartAsync(TestContext.Current.CancellationToken);
        await service.StopAsync(TestContext.Current.CancellationToken);
        Assert.False(File.Exists(DovecotPolicyKey.PathIn(_store.DataDirectory)));
    }

    [Fact]
    public async Task ItAnswersWithTheInstancesKeyWhichItCreatesWhenThereIsNone()
    {
        var ep = FreeLoopbackEndpoint();
        await using var service = Service($"127.0.0.1:{ep.Port}");
        await service.StartAsync(TestContext.Current.CancellationToken);
        var key = DovecotPolicyKey.LoadOrCreate(_store.DataDirectory);

        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ep.Port}/") };
        var body = new StringContent("""{"login":"a@example.org","remote":"192.0.2.1"}""");
        using (var wrong = await client.PostAsync("dovecot/auth-policy?command=allow", body, TestContext.Current.CancellationToken))
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        client.DefaultRequestHeaders.Add("X-API-Key", key);
        using (var right = await client.PostAsync("dovecot/auth-policy?command=allow", body, TestContext.Current.CancellationToken))
            Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        await service.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task APortInUseIsAListenerStartErrorNamingTheKey()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        await using var service = Service($"127.0.0.1:{port}");

        var ex = await Assert.ThrowsAsync<ListenerStartException>(() => service.StartAsync(TestContext.Current.CancellationToken));
        Assert.StartsWith($"listeners.dovecotPolicy: cannot listen on 127.0.0.1:{port}: ", ex.Message);
    }

    [Fact]
    public async Task ACorruptKeyFileIsAListenerStartErrorNamingTheFile()
    {
        var path = DovecotPolicyKey.PathIn(_store.DataDirectory);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "garbage");
        await using var service = Service($"127.0.0.1:{FreeLoopbackEndpoint().Port}");

        var ex = await Assert.ThrowsAsync<ListenerStartException>(() => service.StartAsync(TestContext.Current.CancellationToken));
        Assert.StartsWith("listeners.dovecotPolicy: ", ex.Message);
        Assert.Contains(path + " does not hold a key", ex.Message);
        Assert.Equal("garbage", File.ReadAllText(path));
    }
}
