using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Localization;
using Microsoft.Net.Http.Headers;

namespace SecureMx.Dashboard;

/// <summary>
/// Accept-Language by language, not region: "de-AT" and "de-CH" read German. The built-in provider
/// falls back through CultureInfo.Parent, which is the invariant culture under invariant
/// globalization, so "de-DE" alone would have fallen through to English.
/// </summary>
public sealed class LanguagePrefixCultureProvider : RequestCultureProvider
{
    public override Task<ProviderCultureResult?> DetermineProviderCultureResult(HttpContext httpContext)
    {
        var header = httpContext.Request.Headers.AcceptLanguage;
        if (header.Count == 0 || !StringWithQualityHeaderValue.TryParseList(header, out var languages)) return NullProviderCultureResult;
        // Highest quality first; equal qualities keep the browser's order (OrderByDescending is stable).
        foreach (var language in languages.Where(l => (l.Quality ?? 1) > 0).OrderByDescending(l => l.Quality ?? 1))
        {
            var tag = language.Value.Value ?? "";
            var dash = tag.IndexOf('-');
            var prefix = (dash < 0 ? tag : tag[..dash]).ToLowerInvariant();
            if (DashboardServer.Cultures.Contains(prefix)) return Task.FromResult<ProviderCultureResult?>(new ProviderCultureResult(prefix));
        }
        return NullProviderCultureResult;
    }
}
