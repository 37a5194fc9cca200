using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// A browser stand-in for the dashboard: one cookie jar (one session), no automatic redirects,
/// trusting exactly the test host's certificate.
/// </summary>
public sealed partial class DashboardClient : IDisposable
{
    private readonly HttpClient _http;

    public CookieContainer Cookies { get; } = new();

    public Uri BaseAddress { get; }

    public DashboardClient(Uri baseAddress, X509Certificate2 serverCertificate, string? acceptLanguage)
    {
        BaseAddress = baseAddress;
        var handler = new SocketsHttpHandler
        {
            CookieContainer = Cookies,
            UseCookies = true,
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == serverCertificate.GetCertHashString();
        _http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (acceptLanguage is not null) _http.DefaultRequestHeaders.TryAddWithoutValidation("Accept-Language", acceptLanguage);
    }

    public Task<HttpResponseMessage> GetAsync(string path) => _http.GetAsync(path, TestContext.Current.CancellationToken);

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request) => _http.SendAsync(request, TestContext.Current.CancellationToken);

    /// <summary>GET that must answer 200; returns the HTML.</summary>
    public async Task<string> GetPageAsync(string path)
    {
        using var response = await GetAsync(path);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path}: {(int)response.StatusCode}");
        return body;
    }

    /// <summary>The antiforgery token of this session, from a form on <paramref name="page"/>.</summary>
    public async Task<string> TokenAsync(string page = "/")
    {
        using var response = await GetAsync(page);
        var html = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return TokenIn(html) ?? throw new InvalidOperationException($"no __af token on {page} ({(int)response.StatusCode})");
    }

    public static string? TokenIn(string html) => TokenField().Match(html) is { Success: true } m ? WebUtility.HtmlDecode(m.Groups[1].Value) : null;

    /// <summary>GET /login, then POST the address, password and the page's token.</summary>
    public async Task<HttpResponseMessage> LoginAsync(string address, string password, string? returnUrl = null)
    {
        var query = returnUrl is null ? "" : "?ReturnUrl=" + Uri.EscapeDataString(returnUrl);
        var token = await TokenAsync("/login" + query);
        return await PostRawAsync("/login" + query, [new("address", address), new("password", password), new("__af", token)]);
    }

    /// <summary>POST with a fresh token of this session (taken from <paramref name="tokenPage"/>).</summary>
    public async Task<HttpResponseMessage> PostFormAsync(string path, IEnumerable<KeyValuePair<string, string>> fields, string tokenPage = "/")
    {
        var token = await TokenAsync(tokenPage);
        return await PostRawAsync(path, [.. fields, new("__af", token)]);
    }

    public Task<HttpResponseMessage> PostFormAsync(string path, params (string Name, string Value)[] fields) =>
        PostFormAsync(path, fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));

    public Task<HttpResponseMessage> PostFormWithTokenFromAsync(string tokenPage, string path, params (string Name, string Value)[] fields) =>
        PostFormAsync(path, fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)), tokenPage);

    /// <summary>POST exactly these fields (no token added).</summary>
    public Task<HttpResponseMessage> PostRawAsync(string path, IEnumerable<KeyValuePair<string, string>> fields) =>
        _http.PostAsync(path, new FormUrlEncodedContent(fields), TestContext.Current.CancellationToken);

    /// <summary>The path a redirect points to (Location may be absolute or relative).</summary>
    public string RedirectTarget(HttpResponseMessage response)
    {
        var location = response.Headers.Location ?? throw new InvalidOperationException($"no Location ({(int)response.StatusCode})");
        var absolute = location.IsAbsoluteUri ? location : new Uri(BaseAddress, location);
        Assert.Equal(BaseAddress.GetLeftPart(UriPartial.Authority), absolute.GetLeftPart(UriPartial.Authority));
        return absolute.AbsolutePath;
    }

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("<input[^>]*name=\"__af\"[^>]*value=\"([^\"]+)\"")]
    private static partial Regex TokenField();
}
