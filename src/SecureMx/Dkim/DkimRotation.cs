using SecureMx.Dns;

namespace SecureMx.Dkim;

/// <summary>One state change of a rotation, with the reason (logged by the server).</summary>
public sealed record DkimRotationStep(DkimKey Key, DkimKeyState To, string Why);

/// <summary>
/// The rotation of DKIM keys after `securemx dkim rotate` (RFC 6376 §3.6.1 says nothing of it; this is the
/// usual practice, M3AAWG's "DKIM Key Rotation"): a <c>pending</c> key does not sign until its TXT record is
/// seen in DNS, through the validating resolver, carrying its key — then it becomes <c>active</c>, and the keys
/// of the same kind that were active become <c>retiring</c>: they stop signing at once, and their records must
/// stay published for <see cref="RetiringPeriod"/> (mail they signed may still be queued somewhere or read
/// later); then they are <c>retired</c> and their records may be removed. A lookup that fails or finds
/// another key leaves the pending key as it is; the next check tries again.
/// </summary>
public sealed class DkimRotation(DkimKeyRepository keys, IMailDnsResolver dns, TimeProvider time)
{
    /// <summary>How long a replaced key's record stays listed after it stopped signing: longer than a queue keeps a message (5 days by default), plus some.</summary>
    public static readonly TimeSpan RetiringPeriod = TimeSpan.FromDays(7);

    /// <summary>One pass over every domain's keys; returns what changed.</summary>
    public async Task<List<DkimRotationStep>> AdvanceAsync(CancellationToken ct)
    {
        var steps = new List<DkimRotationStep>();
        foreach (var pending in keys.InState(DkimKeyState.Pending))
        {
            var seen = await PublishedAsync(pending, ct).ConfigureAwait(false);
            if (seen is not null) continue; // not yet: stays pending
            if (!keys.SetState(pending.Domain, pending.Selector, DkimKeyState.Pending, DkimKeyState.Active)) continue; // another node was first
            steps.Add(new DkimRotationStep(pending, DkimKeyState.Active, $"its record {pending.RecordName} is published"));
            foreach (var old in keys.Active(pending.Domain).Where(k => k.Algorithm == pending.Algorithm && k.Selector != pending.Selector))
            {
                if (keys.SetState(old.Domain, old.Selector, DkimKeyState.Active, DkimKeyState.Retiring))
                    steps.Add(new DkimRotationStep(old, DkimKeyState.Retiring, $"replaced by {pending.Selector}; keep its record until {(time.GetUtcNow() + RetiringPeriod).UtcDateTime:yyyy-MM-dd}"));
            }
        }
        foreach (var retiring in keys.InState(DkimKeyState.Retiring))
        {
            if (time.GetUtcNow() - retiring.StateChangedAt < RetiringPeriod) continue;
            if (keys.SetState(retiring.Domain, retiring.Selector, DkimKeyState.Retiring, DkimKeyState.Retired))
                steps.Add(new DkimRotationStep(retiring, DkimKeyState.Retired, $"its record {retiring.RecordName} may be removed"));
        }
        return steps;
    }

    /// <summary>Null when the key's record is published with this key; else what was found instead.</summary>
    public async Task<string?> PublishedAsync(DkimKey key, CancellationToken ct)
    {
        return DkimKeyRecord.Check(await dns.ResolveTxtAsync(key.RecordName, ct).ConfigureAwait(false), key);
    }
}
