using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Logging;
using SecureMx.Dashboard.Text;
using SecureMx.Store;

namespace SecureMx.Dashboard;

/// <summary>
/// A request that fails because the store cannot be reached (a shared PostgreSQL that is down, restarting,
/// or cut off: <see cref="StoreDatabase.IsUnreachable"/>) is answered 503 with a page that says so, and
/// Retry-After, instead of a 500 — every page, the login and the session check included (a session that
/// cannot be checked is neither valid nor ended: 503, not the login page). Other errors pass through unchanged.
/// </summary>
public static class StoreUnreachablePage
{
    public const int RetryAfterSeconds = 60;

    private static readonly object Key = new();

    /// <summary>
    /// For a failure the framework swallows (the session check, whose exception the authentication handler
    /// turns into "not signed in"): the request is answered 503 as long as nothing was written yet.
    /// </summary>
    public static void Remember(HttpContext context, Exception ex) => context.Items[Key] = ex;

    public static async Task Handle(HttpContext context, Func<Task> next, ILogger log)
    {
        Exception? failure;
        try
        {
            await next();
            failure = context.Items.TryGetValue(Key, out var remembered) ? remembered as Exception : null;
        }
        catch (Exception ex) when (StoreDatabase.IsUnreachable(ex) && !context.Response.HasStarted)
        {
            failure = ex;
        }
        if (failure is not null && !context.Response.HasStarted)
        {
            log.LogWarning("dashboard {Method} {Path}: the store is unreachable: {Error}", context.Request.Method, context.Request.Path.Value, failure.Message);
            context.Response.Headers.Location = default; // the login redirect of a session that could not be checked
            var text = context.RequestServices.GetRequiredService<IStringLocalizer<SharedText>>();
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            context.Response.ContentType = "text/html; charset=utf-8";
            var title = WebUtility.HtmlEncode(text["StoreUnreachable_Title"]);
            await context.Response.WriteAsync($"""
                <!DOCTYPE html>
                <html lang="{WebUtility.HtmlEncode(System.Globalization.CultureInfo.CurrentUICulture.TwoLetterISOLanguageName)}">
                <head><meta charset="utf-8"><title>{title}</title><link rel="stylesheet" href="/dashboard.css"></head>
                <body><main><h1>{title}</h1><p>{WebUtility.HtmlEncode(text["StoreUnreachable_Text"])}</p></main></body>
                </html>
                """);
        }
        else if (failure is not null)
        {
            // Already answered (a page that needs no store, such as the login form): it stands.
            log.LogWarning("dashboard {Method} {Path}: the store is unreachable: {Error}", context.Request.Method, context.Request.Path.Value, failure.Message);
        }
    }
}
