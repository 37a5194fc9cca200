using SecureMx.Store;

namespace SecureMx.Dashboard;

/// <summary>
/// The domain page's refused-mail report: the attempts refused under inbound mandatory TLS in the last
/// <see cref="Days"/> days (newest first, at most <see cref="MaxListed"/>), the count per sending host over
/// all of them (the <see cref="RefusedAttemptRepository.MaxHosts"/> busiest hosts, then "N more hosts"), and the daily digest switch. Shown while inbound mandatory TLS is on, or while refusals of
/// the window are still there after it was switched off.
/// </summary>
public sealed record RefusedAttemptsReport(string Domain, DateTimeOffset Since, bool InboundMandatory, bool DigestOn,
    IReadOnlyList<RefusedAttempt> Attempts, IReadOnlyList<RefusedSendingHost> Hosts, RefusedTotals Totals)
{
    public const int Days = 30;

    public const int MaxListed = 200;

    /// <summary>All refused attempts of the window (the listed ones may be fewer).</summary>
    public long Total => Totals.Attempts;

    /// <summary>The sending hosts not counted one by one.</summary>
    public long MoreHosts => Totals.MoreHosts(Hosts.Count);

    public bool Visible => InboundMandatory || Total > 0;

    public static RefusedAttemptsReport Load(RefusedAttemptRepository refused, string domain, bool inboundMandatory, DateTimeOffset now)
    {
        var since = now.AddDays(-Days);
        return new RefusedAttemptsReport(domain, since, inboundMandatory, refused.DigestOn(domain),
            refused.Attempts(domain, since, limit: MaxListed), refused.CountsPerHost(domain, since), refused.Totals(domain, since));
    }
}
