using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using SecureMx.Mail;
using SecureMx.Store;

namespace SecureMx.Dashboard.Pages;

/// <summary>
/// System administrators only: every hosted domain with its TLS policies and administrators, the
/// system administrators, and the destination TLS table (the one setting changed here). Roles
/// themselves are given on the command line.
/// </summary>
public sealed class AdminModel(DashboardUser user, TlsPolicyRepository policies, RoleRepository roles) : PageModel
{
    /// <summary>The form's level value that removes an entry (the word of `securemx policy destination DOMAIN remove`).</summary>
    public const string RemoveLevel = "remove";

    public sealed record DomainRow(string Name, bool InboundMandatory, bool OutboundMandatory, List<string> Admins);

    public List<DomainRow> Domains { get; } = [];

    public List<string> SystemAdmins { get; private set; } = [];

    public List<DestinationTlsEntry> Destinations { get; private set; } = [];

    /// <summary>The resource key of a validation error and its argument, or null.</summary>
    public (string Key, string Arg)? Error { get; private set; }

    /// <summary>The form's values after a failed POST, so that the user can correct them.</summary>
    public string? Destination { get; private set; }

    public string? Level { get; private set; }

    /// <summary>After a successful change (PRG): "saved" or "removed", and the destination.</summary>
    [BindProperty(SupportsGet = true)] public string? Done { get; set; }
    [BindProperty(SupportsGet = true, Name = "d")] public string? DoneDestination { get; set; }

    public IActionResult OnGet()
    {
        if (!user.IsSystemAdmin) return Forbid();
        if (Done is not ("saved" or "removed") || DoneDestination is null || EnvelopeAddress.NormalizeDomain(DoneDestination) is null) Done = null;
        Load();
        return Page();
    }

    /// <summary>
    /// Sets a destination's level, or removes the entry (<see cref="RemoveLevel"/>). No level at all
    /// (the form's placeholder) is a validation error: an entry is a deliberate choice, never a default.
    /// </summary>
    public IActionResult OnPostDestination([FromForm] string? destination, [FromForm] string? level)
    {
        if (!user.IsSystemAdmin) return Forbid();
        Destination = destination?.Trim() ?? "";
        Level = level?.Trim() ?? "";
        var domain = Destination.Length == 0 ? null : EnvelopeAddress.NormalizeDomain(Destination);
        bool remove = Level.Equals(RemoveLevel, StringComparison.OrdinalIgnoreCase);
        OutboundTlsLevel parsed = default;
        if (domain is null) Error = ("Error_Domain", Destination);
        else if (Level.Length == 0) Error = ("Error_ChooseLevel", domain);
        else if (!remove && !OutboundTlsLevels.TryParse(Level, out parsed)) Error = ("Error_Level", Level);
        else
        {
            try
            {
                policies.SetDestinationTls(domain, remove ? null : parsed, "dashboard:" + user.Address);
                return RedirectToPage(new { done = remove ? "removed" : "saved", d = domain });
            }
            catch (StoreException)
            {
                Error = ("Error_NoEntry", domain); // removing what is not there: the only store refusal here
            }
        }
        Load();
        return Page();
    }

    private void Load()
    {
        foreach (var d in policies.DomainTlsSettings())
        {
            Domains.Add(new DomainRow(d.Domain, d.Inbound == InboundTlsSetting.Mandatory, d.Outbound == OutboundTlsSetting.Mandatory, roles.ListDomainAdmins(d.Domain)));
        }
        SystemAdmins = roles.ListSystemAdmins();
        Destinations = policies.ListDestinationTls();
    }
}
