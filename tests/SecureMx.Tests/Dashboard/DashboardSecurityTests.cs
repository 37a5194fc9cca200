using System.Net;
using System.Text.RegularExpressions;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// Cookies, antiforgery, the login's answers and throttle, redirects, headers, and what the pages
/// must never contain. The host blocks an account after <see cref="ThrottledDashboardHost.MaxFailuresPerAccount"/>
/// failed logins, so every test that fails a login uses an account of its own.
/// </summary>
public sealed partial class DashboardSecurityTests(ThrottledDashboardHost host) : IClassFixture<ThrottledDashboardHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string? SetCookie(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues("Set-Cookie", out var values) ? values.FirstOrDefault(v => v.StartsWith(name + "=", StringComparison.Ordinal)) : null;

    private static void AssertStrictCookie(string? header, string name)
    {
        Assert.True(header is not null, $"no Set-Cookie for {name}");
        var attributes = header.Split(';').Skip(1).Select(a => a.Trim().ToLowerInvariant()).ToList();
        Assert.Contains("secure", attributes);
        Assert.Contains("httponly", attributes);
        Assert.Contains("samesite=strict", attributes);
        Assert.Contains("path=/", attributes);
        Assert.DoesNotContain(attributes, a => a.StartsWith("domain=", StringComparison.Ordinal));
    }

    // ---- cookies ----

    [Fact]
    public async Task AuthCookieIsHostPrefixedSecureHttpOnlyAndSameSiteStrict()
    {
        var client = host.NewClient();
        using var response = await client.LoginAsync("user@a.test", DashboardTestHost.Password);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        AssertStrictCookie(SetCookie(response, "__Host-securemx"), "__Host-securemx");
    }

    [Fact]
    public async Task AntiforgeryCookieIsSecureHttpOnlyAndSameSiteStrict()
    {
        var client = host.NewClient();
        using var response = await client.GetAsync("/login");
        AssertStrictCookie(SetCookie(response, "__Host-securemx-af"), "__Host-securemx-af");
    }

    // ---- antiforgery ----

    [Theory]
    [InlineData(Role.AdminA, "/domain/a.test?handler=Inbound")]
    [InlineData(Role.AdminA, "/domain/a.test?handler=Outbound")]
    [InlineData(Role.AdminA, "/domain/a.test?handler=AccountOutbound")]
    [InlineData(Role.User, "/account/user@a.test?handler=Outbound")]
    [InlineData(Role.Root, "/admin?handler=Destination")]
    public async Task PostWithoutAntiforgeryTokenIsRejectedAndChangesNothing(Role role, string path)
    {
        var client = await host.As(role);
        var before = PolicySnapshot.Take(host.Store);
        using var response = await client.PostRawAsync(path,
            [new("mandatory", "true"), new("confirm", "true"), new("address", "user@a.test"), new("destination", "csrf.example"), new("level", "verify")]);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(before, PolicySnapshot.Take(host.Store));
    }

    [Fact]
    public async Task SignOutWithoutAntiforgeryTokenIsRejected()
    {
        var client = await host.SignInAsync(host.AddMailbox("stays-signed-in@a.test"));
        using var response = await client.PostRawAsync("/logout", []);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task TokenOfAnotherUsersSessionIsRejected()
    {
        var victim = await host.As(Role.AdminA);
        var attacker = await host.As(Role.AdminB);
        var attackerToken = await attacker.TokenAsync();
        var before = PolicySnapshot.Take(host.Store);
        using var response = await victim.PostRawAsync("/domain/a.test?handler=Outbound", [new("mandatory", "true"), new("__af", attackerToken)]);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(before, PolicySnapshot.Take(host.Store));
    }

    [Fact]
    public async Task TokenOfAnotherSessionOfTheSameUserIsRejected()
    {
        var first = await host.SignInAsync("admin@a.test");
        var second = await host.SignInAsync("admin@a.test");
        var token = await second.TokenAsync();
        var before = PolicySnapshot.Take(host.Store);
        using var response = await first.PostRawAsync("/domain/a.test?handler=Outbound", [new("mandatory", "true"), new("__af", token)]);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(before, PolicySnapshot.Take(host.Store));
    }

    [Fact]
    public async Task TokenIssuedBeforeSignInIsRejectedAfterSignIn()
    {
        var client = host.NewClient();
        var anonymousToken = await client.TokenAsync("/login");
        using (var login = await client.LoginAsync("admin@a.test", DashboardTestHost.Password)) Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        var before = PolicySnapshot.Take(host.Store);
        using var response = await client.PostRawAsync("/domain/a.test?handler=Outbound", [new("mandatory", "true"), new("__af", anonymousToken)]);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(before, PolicySnapshot.Take(host.Store));
    }

    // ---- login answers ----

    [Fact]
    public async Task SharedAuthThrottleBlocksTheAccountEvenWithTheRightPassword()
    {
        var address = host.AddMailbox("throttled@b.test");
        var client = host.NewClient();
        for (var i = 0; i < ThrottledDashboardHost.MaxFailuresPerAccount; i++)
        {
            using var wrong = await client.LoginAsync(address, "wrong password " + i);
            Assert.Equal(HttpStatusCode.OK, wrong.StatusCode);
        }

        using var blocked = await client.LoginAsync(address, DashboardTestHost.Password);
        Assert.Equal((HttpStatusCode)429, blocked.StatusCode);
        Assert.Contains("Too many login attempts", await blocked.Content.ReadAsStringAsync(Ct));
        Assert.Null(SetCookie(blocked, "__Host-securemx"));
        // The block is for that account: another one from the same address still signs in.
        using var other = await host.NewClient().LoginAsync("user@b.test", DashboardTestHost.Password);
        Assert.Equal(HttpStatusCode.Redirect, other.StatusCode);
    }

    [Fact]
    public async Task WrongPasswordAndUnknownAddressGiveTheSameAnswer()
    {
        var known = host.AddMailbox("known-one@b.test");
        using var wrong = await host.NewClient().LoginAsync(known, "not the password");
        using var unknown = await host.NewClient().LoginAsync("unknown-one@b.test", "not the password");
        Assert.Equal(HttpStatusCode.OK, wrong.StatusCode);
        Assert.Equal(wrong.StatusCode, unknown.StatusCode);
        var a = Normalize(await wrong.Content.ReadAsStringAsync(Ct), known);
        var b = Normalize(await unknown.Content.ReadAsStringAsync(Ct), "unknown-one@b.test");
        Assert.Contains("Wrong address or password", a);
        Assert.Equal(a, b);
        Assert.Equal(wrong.Headers.Select(h => h.Key).Order(), unknown.Headers.Select(h => h.Key).Order());
    }

    /// <summary>The page without what must differ: the address typed and the per-response token.</summary>
    private static string Normalize(string html, string address) => TokenValue().Replace(html.Replace(address, "ADDRESS", StringComparison.Ordinal), "TOKEN");

    [GeneratedRegex("CfDJ8[A-Za-z0-9_-]+")]
    private static partial Regex TokenValue();

    [Fact]
    public async Task LoginResponsesNeverContainThePassword()
    {
        const string secret = "Sekr1t-Zebra-Passw0rd";
        var wrongClient = host.NewClient();
        using var wrong = await wrongClient.LoginAsync(host.AddMailbox("echo@b.test"), secret);
        Assert.DoesNotContain(secret, await wrong.Content.ReadAsStringAsync(Ct));
        Assert.DoesNotContain(secret, wrong.Headers.ToString());

        var rightClient = host.NewClient();
        using var right = await rightClient.LoginAsync("user@b.test", DashboardTestHost.Password);
        Assert.Equal(HttpStatusCode.Redirect, right.StatusCode);
        Assert.DoesNotContain(DashboardTestHost.Password, right.Headers.ToString());
        Assert.DoesNotContain(DashboardTestHost.Password, await right.Content.ReadAsStringAsync(Ct));
        Assert.DoesNotContain(DashboardTestHost.Password, await rightClient.GetPageAsync("/"));
    }

    [Fact]
    public async Task NoPageContainsAPasswordHashOrScript()
    {
        var hash = host.Store.Mailboxes.FindPasswordHash("root@a.test")!;
        string[] fragments = [hash, hash[..16], hash[16..40]];
        string[] pages =
        [
            "/", "/domain/a.test", "/domain/b.test", "/domain/a.test?check=1", "/account/user@a.test", "/account/admin@b.test",
            "/log", "/queue", "/admin", "/login", "/status/403", "/status/404",
        ];
        var checkedPages = 0;
        foreach (var role in new[] { Role.Anonymous, Role.User, Role.AdminA, Role.AdminB, Role.Root })
        {
            var client = await host.As(role);
            foreach (var page in pages)
            {
                using var response = await client.GetAsync(page);
                var html = await response.Content.ReadAsStringAsync(Ct);
                foreach (var f in fragments) Assert.False(html.Contains(f, StringComparison.Ordinal), $"{page} as {role} contains the password hash");
                Assert.False(html.Contains("<script", StringComparison.OrdinalIgnoreCase), $"{page} as {role} contains a script element");
                Assert.False(html.Contains(" style=\"", StringComparison.OrdinalIgnoreCase), $"{page} as {role} has an inline style (blocked by the CSP)");
                if (response.StatusCode == HttpStatusCode.OK) checkedPages++;
            }
        }
        Assert.True(checkedPages >= 15, $"only {checkedPages} pages answered 200");
    }

    [Theory]
    [InlineData(Role.User, "/log?recipient=%3Cscript%3Ex%3C%2Fscript%3E")]
    [InlineData(Role.AdminA, "/queue?account=%3Cscript%3Ex%3C%2Fscript%3E@a.test")]
    [InlineData(Role.Anonymous, "/login?ReturnUrl=%22%3E%3Cscript%3Ex%3C%2Fscript%3E")]
    public async Task RequestValuesAreEchoedEncoded(Role role, string path)
    {
        var client = await host.As(role);
        using var response = await client.GetAsync(path);
        var html = await response.Content.ReadAsStringAsync(Ct);
        Assert.DoesNotContain("<script>", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("\"><script", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task AdminFormErrorEchoesTheDestinationEncoded()
    {
        var client = await host.As(Role.Root);
        var before = PolicySnapshot.Take(host.Store);
        using var response = await client.PostFormAsync("/admin?handler=Destination", ("destination", "<script>x</script>"), ("level", "verify"));
        var html = await response.Content.ReadAsStringAsync(Ct);
        Assert.DoesNotContain("<script>", html, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, PolicySnapshot.Take(host.Store));
    }

    // ---- redirects ----

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("//evil.example")]
    [InlineData("/\\evil.example")]
    [InlineData("https:evil.example")]
    [InlineData("/login")]
    public async Task LoginNeverRedirectsOffSite(string returnUrl)
    {
        var client = host.NewClient();
        using var response = await client.LoginAsync("other@a.test", DashboardTestHost.Password, returnUrl);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/", response.Headers.Location!.OriginalString);
        // Signed in already: the login page sends the user on, to the same safe place.
        using var again = await client.GetAsync("/login?ReturnUrl=" + Uri.EscapeDataString(returnUrl));
        Assert.Equal("/", again.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task LoginFollowsALocalReturnUrl()
    {
        using var response = await host.NewClient().LoginAsync("other@a.test", DashboardTestHost.Password, "/log?days=7");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/log?days=7", response.Headers.Location!.OriginalString);
    }

    // ---- headers ----

    [Theory]
    [InlineData(Role.Anonymous, "/login")]
    [InlineData(Role.Anonymous, "/")]
    [InlineData(Role.Anonymous, "/status/404")]
    [InlineData(Role.User, "/")]
    [InlineData(Role.User, "/domain/a.test")]
    [InlineData(Role.AdminA, "/domain/a.test")]
    [InlineData(Role.User, "/log")]
    public async Task EveryResponseCarriesTheSecurityHeadersAndNoServerHeader(Role role, string path)
    {
        var client = await host.As(role);
        using var response = await client.GetAsync(path);
        var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.False(response.Headers.Contains("Server"));
        Assert.False(response.Headers.Contains("X-Powered-By"));
    }
}
