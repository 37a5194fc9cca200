using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Store;

namespace SecureMx.Dashboard;

/// <summary>
/// Serves <see cref="AutoconfigDocument"/> without a login where mail programs look for it:
/// <c>https://autoconfig.DOMAIN/mail/config-v1.1.xml</c> and
/// <c>https://DOMAIN/.well-known/autoconfig/mail/config-v1.1.xml</c>, each with
/// <c>?emailaddress=ADDRESS</c>. The domain is that of the address when one is given (so the provider's
/// own name also answers for every customer domain), else the requested host name without
/// "autoconfig.". Only hosted domains get a file, and it depends on the domain alone: nothing tells
/// whether a mailbox exists. Bad input is a 400 or a 404, never an error of the server.
/// </summary>
public static class AutoconfigEndpoint
{
    public static readonly string[] Paths = ["/.well-known/autoconfig/mail/config-v1.1.xml", "/mail/config-v1.1.xml"];

    // RFC 5321 §4.5.3.1.1 and §4.5.3.1.2: 64 octets of local part, 255 of domain; anything longer is no address.
    private const int MaxAddressLength = 64 + 1 + 255;

    private const string SubdomainPrefix = "autoconfig.";

    public static IResult Handle(HttpContext context)
    {
        var (domain, malformed) = DomainOf(context.Request.Query["emailaddress"], context.Request.Host.Host);
        if (malformed) return Results.BadRequest();
        var services = context.RequestServices;
        if (domain is null || !services.GetRequiredService<MailboxRepository>().IsHosted(domain)) return Results.NotFound();
        var offered = MailClientServices.Offered(services.GetRequiredService<SecureMxOptions>());
        // A client can do nothing with a file that lacks a way in or a way out.
        if (!offered.Any(s => s.Incoming) || offered.All(s => s.Incoming)) return Results.NotFound();
        return Results.Bytes(AutoconfigDocument.Write(domain, offered), "application/xml; charset=utf-8");
    }

    /// <summary>
    /// The domain a request asks for (lower-case A-labels), or null when it names none. Malformed: an
    /// emailaddress parameter was given more than once, or is too long, or has no domain after its last '@'.
    /// </summary>
    public static (string? Domain, bool Malformed) DomainOf(StringValues emailAddress, string? host)
    {
        if (emailAddress.Count > 1) return (null, true);
        if (emailAddress.Count == 1 && !string.IsNullOrEmpty(emailAddress[0]))
        {
            // Only the domain counts, so the local part is not parsed: a '+' the query turned into a space
            // must not make a real address fail.
            var address = emailAddress[0]!.Trim();
            var at = address.LastIndexOf('@');
            if (address.Length > MaxAddressLength || at <= 0) return (null, true);
            var fromAddress = EnvelopeAddress.NormalizeDomain(address[(at + 1)..]);
            return fromAddress is null ? (null, true) : (fromAddress, false);
        }
        var name = host is null ? null : EnvelopeAddress.NormalizeDomain(host.TrimEnd('.'));
        if (name is null) return (null, false);
        return (name.StartsWith(SubdomainPrefix, StringComparison.Ordinal) && name.Length > SubdomainPrefix.Length ? name[SubdomainPrefix.Length..] : name, false);
    }
}
