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
public sealed class AdminModel(DashboardUser user, SecureMxStore store) : PageModel
{
    public sealed record DomainRow(string Name, bool InboundMandatory, bool OutboundMandatory, List<string> Admins);

    public List<DomainRow> Domains { get; } = [];

    public List<string> SystemAdmins { get; private set; } = [];

    public List<(string Domain, string Level)> Destinations { get; private set; } = [];

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

    public IActionResult OnPostDestination([FromForm] string? destination, [FromForm] string? level)
    {
        if (!user.IsSystemAdmin) return Forbid();
        Destination = destination?.Trim() ?? "";
        Level = level?.Trim() ?? "";
        var domain = Destination.Length == 0 ? null : EnvelopeAddress.NormalizeDomain(Destination);
        OutboundTlsLevel parsed = default;
        if (domain is null) Error = ("Error_Domain", Destination);
        else if (Level.Length > 0 && !OutboundTlsLevels.TryParse(Level, out parsed)) Error = ("Error_Level", Level);
        else
        {
            try
            {
                store.SetDestinationTls(domain, Level.Length == 0 ? null : parsed.Name(), "dashboard:" + user.Address);
                return RedirectToPage(new { done = Level.Length == 0 ? "removed" : "saved", d = domain });
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
        foreach (var (d, inbound, outbound) in store.DomainTlsSettings())
        {
            Domains.Add(new DomainRow(d, inbound == SecureMxStore.InboundMandatory, outbound == SecureMxStore.OutboundMandatory, store.ListDomainAdmins(d)));
        }
        SystemAdmins = store.ListSystemAdmins();
        Destinations = store.ListDestinationTls();
    }
}
