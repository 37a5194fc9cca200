using System.Net.Security;
using System.Reflection;
using System.Security.Authentication;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Localization;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Queue;
using SecureMx.Tls;

// Resource names follow the namespace "SecureMx", not the assembly name "securemx".
[assembly: RootNamespace("SecureMx")]

namespace SecureMx.Dashboard;

/// <summary>
/// The self-service dashboard: Razor Pages (server-rendered, no script) on Kestrel, HTTPS with the
/// instance's certificate and the strict TLS profile. A web application of its own inside the mail
/// server's process, sharing the store's repositories, the queue and the resolver (<see cref="DashboardDependencies"/>).
/// </summary>
public static class DashboardServer
{
    public static readonly string[] Cultures = ["en", "de"];

    /// <summary>
    /// Connections at once (a browser keeps up to six open): a bound, so that the dashboard cannot take the
    /// descriptors the SMTP listeners count on (Hosting/OpenFileLimit, which keeps this many aside from the
    /// sessions' share of the open-file limit); Kestrel closes those above it.
    /// </summary>
    public const int MaxConnections = 256;

    public static WebApplication Build(DashboardDependencies deps)
    {
        var https = !deps.Options.Dashboard.PlainHttp;
        if (https && deps.Certificate is null) throw new InvalidOperationException("the dashboard needs the instance certificate (tls.certificate, tls.key) unless dashboard.plainHttp is set");
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(DashboardServer).Assembly.GetName().Name, // where the compiled pages are
            ContentRootPath = deps.DataDirectory,
        });
        builder.Services.AddSingleton(deps.LoggerFactory);
        builder.Services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        builder.Services.AddSingleton<Microsoft.Extensions.Hosting.IHostLifetime, EmbeddedLifetime>();
        builder.WebHost.UseKestrelCore();
        if (https) builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 64 * 1024; // forms only
            k.Limits.MaxConcurrentConnections = MaxConnections;
            k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(30);
            k.Listen(deps.Endpoint, listen =>
            {
                listen.Protocols = HttpProtocols.Http1;
                if (!https) return;
                var ciphers = TlsProfile.Strict.CipherPolicy();
                // Per connection: a renewed certificate (tls.certificate reloaded) serves the next handshake.
                listen.UseHttps(new TlsHandshakeCallbackOptions
                {
                    OnConnection = _ => ValueTask.FromResult(new SslServerAuthenticationOptions
                    {
                        ServerCertificateContext = deps.Certificate!.Context,
                        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                        CipherSuitesPolicy = ciphers,
                        ApplicationProtocols = [SslApplicationProtocol.Http11],
                    }),
                    HandshakeTimeout = TimeSpan.FromSeconds(10),
                });
            });
        });

        builder.Services.AddSingleton(deps);
        builder.Services.AddSingleton(deps.Mailboxes);
        builder.Services.AddSingleton(deps.Policies);
        builder.Services.AddSingleton(deps.Roles);
        builder.Services.AddSingleton(deps.Sessions);
        builder.Services.AddSingleton(deps.DeliveryLog);
        builder.Services.AddSingleton(deps.Readiness);
        builder.Services.AddSingleton(deps.OutboundTls);
        builder.Services.AddSingleton(deps.Options);
        builder.Services.AddSingleton(deps.Time);
        builder.Services.AddSingleton(deps.Spool);
        builder.Services.AddSingleton(deps.Resolver);
        builder.Services.AddSingleton(deps.Authenticator);
        builder.Services.AddSingleton(deps.OtherNodes);
        builder.Services.AddSingleton(deps.RefusedAttempts);
        builder.Services.AddSingleton<ReadinessPreview>();
        // Per request: a reload (SIGHUP) may replace queue.* (Options.Queue) while the dashboard runs.
        builder.Services.AddTransient(_ => new QueueTimeRules(deps.Options.Queue));
        builder.Services.AddTransient(sp => OutboundWaitTimes.From(sp.GetRequiredService<QueueTimeRules>()));
        builder.Services.AddSingleton(new LoginRateLimiter(deps.Options.Dashboard.LoginAttemptsPerMinute));
        builder.Services.AddSingleton(new SessionLifetime(Duration.Parse(deps.Options.Dashboard.SessionMaxLifetime, "dashboard.sessionMaxLifetime")));
        builder.Services.AddSingleton<PasswordChange>();
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddScoped<DashboardUser>();

        // Cookies must survive a restart (and be valid on every node of a shared store); the key ring is encrypted at rest (DashboardKeyRing).
        DashboardKeyRing.Add(builder.Services, deps.DataDirectory, deps.SharedStore, deps.Time);

        var cookiePrefix = https ? "__Host-" : ""; // __Host-: Secure, Path=/, no Domain (RFC 6265bis §4.1.3.2)
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(o =>
        {
            o.Cookie.Name = cookiePrefix + "securemx";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = https ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
            o.ExpireTimeSpan = Duration.Parse(deps.Options.Dashboard.SessionIdleTimeout, "dashboard.sessionIdleTimeout");
            o.SlidingExpiration = true;
            o.LoginPath = "/login";
            o.LogoutPath = "/logout";
            // Sliding renewal and the idle timeout run on the dashboard's clock, as the session records do.
            o.TimeProvider = deps.Time;
            o.Events.OnValidatePrincipal = DashboardSession.ValidateAsync;
            // A signed-in user without the right gets 403, not a redirect to a login they already have.
            o.Events.OnRedirectToAccessDenied = c => { c.Response.StatusCode = StatusCodes.Status403Forbidden; return Task.CompletedTask; };
        });
        builder.Services.AddAuthorizationBuilder().SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        builder.Services.AddAntiforgery(o =>
        {
            o.Cookie.Name = cookiePrefix + "securemx-af";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = https ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
            o.FormFieldName = "__af";
        });

        // German text as UTF-8 characters, not &#xFC; entities (Razor still encodes what must be encoded).
        builder.Services.Configure<Microsoft.Extensions.WebEncoders.WebEncoderOptions>(o => o.TextEncoderSettings = new System.Text.Encodings.Web.TextEncoderSettings(System.Text.Unicode.UnicodeRanges.All));
        builder.Services.AddLocalization();
        builder.Services.Configure<RequestLocalizationOptions>(o =>
        {
            o.SetDefaultCulture("en").AddSupportedCultures(Cultures).AddSupportedUICultures(Cultures);
            o.FallBackToParentCultures = true;
            o.FallBackToParentUICultures = true;
            // The visible switch sets the cookie; without it the browser's Accept-Language decides.
            o.RequestCultureProviders = [new CookieRequestCultureProvider(), new LanguagePrefixCultureProvider()];
        });
        builder.Services.AddRazorPages(o =>
        {
            o.RootDirectory = "/Dashboard/Pages";
            o.Conventions.AllowAnonymousToPage("/Login");
            o.Conventions.AllowAnonymousToPage("/Status");
        }).AddViewLocalization();

        var app = builder.Build();
        var access = deps.LoggerFactory.CreateLogger("SecureMx.Dashboard");
        app.Use((context, next) => AccessLog(context, next, access, deps.Time));
        var hstsSetting = HstsSettings.Parse(deps.Options.Dashboard.Hsts);
        // Judged per request: a renewal may replace a self-signed certificate with a CA-issued one.
        app.Use((context, next) => SecurityHeaders(context, next, StrictTransportSecurity.Applies(hstsSetting, https, deps.Certificate?.Certificate)));
        app.UseStatusCodePagesWithReExecute("/status/{0}");
        app.UseRequestLocalization();
        // Outside routing and authentication: the session check reads the store too.
        app.Use((context, next) => StoreUnreachablePage.Handle(context, next, access));
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGet("/dashboard.css", Stylesheet).AllowAnonymous();
        // Mail programs fetch their settings before anyone has logged in.
        foreach (var path in AutoconfigEndpoint.Paths) app.MapGet(path, AutoconfigEndpoint.Handle).AllowAnonymous();
        app.MapRazorPages();
        return app;
    }

    /// <summary>One line per request: who did what from where. The query string is left out (it carries only filters).</summary>
    private static async Task AccessLog(HttpContext context, Func<Task> next, ILogger log, TimeProvider time)
    {
        var started = time.GetTimestamp();
        await next();
        if (context.Request.Path.StartsWithSegments("/dashboard.css")) return;
        log.LogInformation("dashboard {Method} {Path} {Status} user={User} ip={Ip} {Ms:0}ms", context.Request.Method, context.Request.Path.Value,
            context.Response.StatusCode, context.User.Identity?.Name ?? "-", context.Connection.RemoteIpAddress, time.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>No script, no frames, no third parties: the pages need none of them.</summary>
    private static Task SecurityHeaders(HttpContext context, Func<Task> next, bool hsts)
    {
        var h = context.Response.Headers;
        if (hsts) h.StrictTransportSecurity = StrictTransportSecurity.HeaderValue;
        h.ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        h.XContentTypeOptions = "nosniff";
        h.XFrameOptions = "DENY";
        h["Referrer-Policy"] = "no-referrer";
        // Exactly what antiforgery sets on pages with forms (it warns when it has to override anything else).
        h.CacheControl = "no-cache, no-store";
        h.Pragma = "no-cache";
        return next();
    }

    private static readonly Lazy<byte[]> Css = new(() =>
    {
        using var s = typeof(DashboardServer).Assembly.GetManifestResourceStream("SecureMx.Dashboard.dashboard.css")
            ?? throw new InvalidOperationException("dashboard.css is not embedded");
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    });

    private static IResult Stylesheet(HttpContext context)
    {
        context.Response.Headers.CacheControl = "public, max-age=3600";
        return Results.Bytes(Css.Value, "text/css; charset=utf-8");
    }
}
