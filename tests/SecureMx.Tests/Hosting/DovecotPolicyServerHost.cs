using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Auth;
using SecureMx.Config;
using SecureMx.Dovecot;
using SecureMx.Hosting;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Hosting;

/// <summary>
/// The policy endpoint as serve runs it, on 127.0.0.1 and a port the system picked, over a fresh
/// store; failed logins per account are limited to <see cref="MaxFailuresPerAccount"/>. One per test
/// class: each test uses account names of its own.
/// </summary>
public sealed class DovecotPolicyServerHost : IAsyncLifetime
{
    public const int MaxFailuresPerAccount = 3;
    public const string Key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    private readonly TestStore _store = new();
    private WebApplication? _app;

    public Uri BaseAddress { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var authenticator = new AccountAuthenticator(_store.Mailboxes,
            new AuthOptions { FailureDelay = "0s", MaxFailuresPerAccount = MaxFailuresPerAccount, MaxFailuresPerIp = 1000 }, TimeProvider.System, NullLogger.Instance);
        _app = DovecotPolicyServer.Build(new IPEndPoint(IPAddress.Loopback, 0), Key, new DovecotAuthPolicy(authenticator), NullLoggerFactory.Instance);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        BaseAddress = new Uri(new Uri(address).GetLeftPart(UriPartial.Authority) + "/");
    }

    /// <summary>A client that sends the key as Dovecot does (auth_policy_server_api_header), or none.</summary>
    public HttpClient NewClient(string? key = Key)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null) client.DefaultRequestHeaders.TryAddWithoutValidation("X-API-Key", key);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
        _store.Dispose();
    }
}
