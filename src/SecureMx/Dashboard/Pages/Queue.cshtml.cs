using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using SecureMx.Mail;
using SecureMx.Queue;
using SecureMx.Spool;
using SecureMx.Store;

namespace SecureMx.Dashboard.Pages;

/// <summary>
/// Recipients still waiting in the queue (queued or deferred), limited to the user's
/// <see cref="MailScope"/>: the reason, attempts, next try, and when the server gives up —
/// sooner for a recipient that waits only for a server meeting its TLS requirement. With a shared
/// store also the other nodes' waiting recipients as their summaries last published them, with the
/// node's name and whether it is stale; an unreachable store says so instead of failing the page.
/// </summary>
public sealed class QueueModel(DashboardUser user, MessageSpool spool, QueueTimeRules rules, TimeProvider time, OtherNodes otherNodes) : PageModel
{
    public sealed record Row(Envelope Envelope, QueuedRecipient Recipient, bool TlsWait, DateTimeOffset ExpiresAt);

    [BindProperty(SupportsGet = true)] public string? Account { get; set; }
    [BindProperty(SupportsGet = true)] public string? Domain { get; set; }

    public new DashboardUser User => user;

    public List<Row> Rows { get; } = [];

    /// <summary>Whether the store is shared: the page then has the other nodes' table.</summary>
    public bool SharedStore => otherNodes.Registry is not null;

    /// <summary>The other nodes' waiting recipients in the user's scope (their summaries carry the sender, not the account).</summary>
    public List<NodeQueueRow> OtherNodeRows { get; } = [];

    /// <summary>The other nodes by name (summary age, staleness).</summary>
    public Dictionary<string, NodeRecord> Nodes { get; } = [];

    /// <summary>Why the other nodes' summaries could not be read (the store is unreachable); null when they were.</summary>
    public string? OtherNodesError { get; private set; }

    public DateTimeOffset Now { get; private set; }

    public TimeSpan DelayWarningAfter => rules.DelayWarningAfter;

    /// <summary>The spool's free space when it is below the floor (new mail refused), for system admins; null otherwise.</summary>
    public FreeSpaceGuard.Reading? LowDisk { get; private set; }

    public IActionResult OnGet()
    {
        if (MailScope.ForRequest(user, Account, Domain) is not { } request) return Forbid();
        var scope = request.Scope;
        (Account, Domain) = (request.Account, request.Domain);

        Now = time.GetUtcNow();
        if (user.IsSystemAdmin && spool.FreeSpace.Read() is { BelowFloor: true } reading) LowDisk = reading;
        foreach (var (envelope, recipients) in spool.Queue.ListAll())
        {
            var account = envelope.Client.Account;
            if (!scope.Contains(account, envelope.Sender) || !MailScope.Matches(account, envelope.Sender, Account, Domain)) continue;
            foreach (var r in recipients.Where(r => r.State is RecipientState.Queued or RecipientState.Deferred))
            {
                Rows.Add(new Row(envelope, r, r.LastOutcome?.IsTlsWait == true, rules.ExpiresAt(envelope.ReceivedAt, r.LastOutcome)));
            }
        }
        if (otherNodes.Registry is { } registry)
        {
            try
            {
                foreach (var node in registry.Nodes().Where(n => n.Name != otherNodes.Self)) Nodes[node.Name] = node;
                OtherNodeRows.AddRange(registry.PublishedQueue().Where(r => Nodes.ContainsKey(r.Node)
                    && scope.Contains(null, r.Sender) && MailScope.Matches(null, r.Sender, Account, Domain)));
            }
            catch (Exception ex) when (StoreUnavailable.Is(ex))
            {
                OtherNodesError = ex.Message;
            }
        }
        return Page();
    }
}
