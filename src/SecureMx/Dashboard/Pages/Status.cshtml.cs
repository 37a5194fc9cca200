using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace SecureMx.Dashboard.Pages;

/// <summary>The body of an error status (re-executed by the status code pages middleware); the status itself stays.</summary>
[IgnoreAntiforgeryToken]
public sealed class StatusModel : PageModel
{
    public int Code { get; private set; }

    public void OnGet(int code) => Code = code;

    // A failed POST (e.g. 400 for a missing antiforgery token) is re-executed as a POST.
    public void OnPost(int code) => Code = code;
}
