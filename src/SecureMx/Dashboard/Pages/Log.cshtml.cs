using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using SecureMx.Mail;
using SecureMx.Store;

namespace SecureMx.Dashboard.Pages;

/// <summary>
/// The delivery log with its TLS columns, limited to the user's <see cref="MailScope"/>. The scope
/// is applied in the query itself; a filter naming mail outside it is refused (403), not emptied.
/// </summary>
public sealed class LogModel(DashboardUser user, DeliveryLogRepository deliveryLog, TimeProvider time) : PageModel
{
    public static readonly string[] Verifications = ["none", "encrypted", "dane", "mta-sts", "verified", DeliveryLogEntry.Local];
    public static readonly string[] Results = ["delivered", "deferred", "failed"];
    public static readonly int[] DayChoices = [1, 7, 30, 90];
    public const int DefaultLimit = 200;
    public const int MaxLimit = 1000;

    [BindProperty(SupportsGet = true)] public string? Account { get; set; }
    [BindProperty(SupportsGet = true)] public string? Domain { get; set; }
    [BindProperty(SupportsGet = true)] public string? Recipient { get; set; }
    [BindProperty(SupportsGet = true)] public string? Tls { get; set; }
    [BindProperty(SupportsGet = true)] public string? Result { get; set; }
    [BindProperty(SupportsGet = true)] public int? Days { get; set; }
    [BindProperty(SupportsGet = true)] public int? Limit { get; set; }

    public new DashboardUser User => user;

    public List<DeliveryLogEntry> Entries { get; private set; } = [];

    public IActionResult OnGet()
    {
        if (MailScope.ForRequest(user, Account, Domain) is not { } request) return Forbid();
        var scope = request.Scope;
        (Account, Domain) = (request.Account, request.Domain);

        Recipient = string.IsNullOrWhiteSpace(Recipient) ? null : Recipient.Trim().ToLowerInvariant();
        Tls = Verifications.Contains(Tls) ? Tls : null;
        Result = Results.Contains(Result) ? Result : null;
        Days = Days is { } d && DayChoices.Contains(d) ? d : 7;
        Limit = Math.Clamp(Limit ?? DefaultLimit, 1, MaxLimit);

        Entries = deliveryLog.Search(new DeliveryLogQuery
        {
            Accounts = scope.Accounts,
            SenderDomains = scope.SenderDomains,
            Account = Account,
            SenderDomain = Domain,
            Recipient = Recipient,
            Verification = Tls,
            Result = Result,
            Since = time.GetUtcNow().AddDays(-Days.Value),
            Limit = Limit.Value,
        });
        return Page();
    }

    /// <summary>A delivery to a local mailbox (verification "local"; older rows: host "local" without an address).</summary>
    public static bool IsLocal(DeliveryLogEntry e) => e.IsLocal;

    /// <summary>The resource key and status colour of a row's verification.</summary>
    public static (string Key, bool Shared, string Css) Verification(DeliveryLogEntry e) =>
        IsLocal(e) ? ("LocalDelivery", false, "off")
        : e.MxHost is null && e.TlsVerification == "none" ? ("NoConnection", false, "off")
        : e.TlsVerification == "none" && e.TlsFailure is not null ? ("StartTlsFailed", false, "bad")
        : e.TlsVerification switch
        {
            "dane" => ("Tls_dane", true, "ok"),
            "mta-sts" => ("Tls_mta-sts", true, "ok"),
            "verified" => ("Tls_verified", true, "ok"),
            "encrypted" => ("Tls_encrypted", true, "warn"),
            _ => ("Tls_none", true, "bad"),
        };

    /// <summary>TLS below the strict profile (an old protocol, CBC, RSA key exchange): shown as weak beside protocol and cipher.</summary>
    public static bool IsWeak(DeliveryLogEntry e) => TlsGrading.Of(e.TlsProtocol, e.TlsCipher) == TlsGrade.Weak;

    public static string ResultCss(string result) => result switch
    {
        "delivered" => "ok",
        "deferred" => "warn",
        _ => "bad",
    };
}
