using System.Net;
using System.Net.Http;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;

namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// A browser without a browser for one instance's dashboard: HTTPS trusting only the instance's own
/// certificate, a cookie jar, no automatic redirects, and the forms' anti-forgery field (<c>__af</c>)
/// taken from the page the form is on, as a browser would send it.
/// </summary>
public sealed partial class DashboardHttpClient : IDisposable
{
    /// <summary>The authentication cookie's name (ASP.NET Core's cookie scheme, __Host- over HTTPS).</summary>
    public const string SessionCookie = "__Host-securemx";

    private readonly HttpClient _http;
    private readonly byte[] _pinned;
    public CookieContainer Cookies { get; } = new();
    public Uri BaseAddress { get; }

    public DashboardHttpClient(SecureMxInstance instance)
    {
        using (var certificate = X509Certificate2.CreateFromPem(File.ReadAllText(instance.CertificatePath))) _pinned = certificate.RawData;
        BaseAddress = new Uri(instance.DashboardUrl);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            CookieContainer = Cookies,
            UseCookies = true,
            SslOptions = { RemoteCertificateValidationCallback = Pinned },
        };
        _http = new HttpClient(handler) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>Signs in with the login form; fails the test unless the dashboard answers with the redirect of a good login.</summary>
    public async Task LoginAsync(string address, string password)
    {
        using var response = await PostFormAsync("/login", "/login", new() { ["address"] = address, ["password"] = password });
        Assert.True(response.StatusCode == HttpStatusCode.Redirect, $"login of {address}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.NotNull(SessionCookieValue);
    }

    /// <summary>The value of the authentication cookie the dashboard set, or null.</summary>
    public string? SessionCookieValue => Cookies.GetCookies(BaseAddress)[SessionCookie]?.Value;

    public Task<HttpResponseMessage> GetAsync(string path) => _http.GetAsync(path);

    /// <summary>A GET carrying exactly the cookie header given (a cookie taken from another node), not the jar's.</summary>
    public async Task<HttpResponseMessage> GetWithCookieAsync(string path, string cookieName, string cookieValue)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Cookie", $"{cookieName}={cookieValue}");
        using var bare = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            SslOptions = { RemoteCertificateValidationCallback = Pinned },
        }) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        return await bare.SendAsync(request);
    }

    /// <summary>Loads <paramref name="pagePath"/>, then posts <paramref name="fields"/> with the page's anti-forgery token to <paramref name="action"/>.</summary>
    public async Task<HttpResponseMessage> PostFormAsync(string pagePath, string action, Dictionary<string, string> fields)
    {
        using var page = await _http.GetAsync(pagePath);
        var html = await page.Content.ReadAsStringAsync();
        Assert.True(page.StatusCode == HttpStatusCode.OK, $"GET {pagePath}: {(int)page.StatusCode} {html}");
        var token = AntiforgeryField().Match(html);
        Assert.True(token.Success, $"no anti-forgery field on {pagePath}");
        fields["__af"] = WebUtility.HtmlDecode(token.Groups[1].Value);
        return await _http.PostAsync(action, new FormUrlEncodedContent(fields));
    }

    [GeneratedRegex("""<input[^>]*name="__af"[^>]*value="([^"]+)""")]
    private static partial Regex AntiforgeryField();

    private bool Pinned(object sender, X509Certificate? certificate, X509Chain? chain, System.Net.Security.SslPolicyErrors errors) =>
        certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(_pinned);

    public void Dispose() => _http.Dispose();
}
