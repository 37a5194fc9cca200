using SecureMx.MailAuth.Dkim;

namespace SecureMx.MailAuth.Dmarc;

/// <summary>A domain owner's requested handling of mail that fails DMARC (RFC 7489 §6.3 p=).</summary>
public enum DmarcPolicy
{
    None,
    Quarantine,
    Reject,
}

/// <summary>
/// A DMARC record (RFC 7489 §6.3): p=, sp=, adkim=, aspf=, pct=. Tags we do not use (rua, ruf, fo, rf,
/// ri) are read past; reports are not sent.
/// </summary>
public sealed record DmarcRecord(DmarcPolicy Policy, DmarcPolicy SubdomainPolicy, bool StrictDkim, bool StrictSpf, int Percent)
{
    /// <summary>"v=DMARC1" as the first tag (§6.4: exact, case-sensitive).</summary>
    public static bool IsDmarcRecord(string txt) =>
        txt.StartsWith("v=DMARC1", StringComparison.Ordinal) && (txt.Length == 8 || txt[8..].TrimStart().StartsWith(';') || txt[8..].Trim().Length == 0);

    /// <summary>Reads a record; null with the reason when p= is missing or unknown (§6.6.3: such a record is not used).</summary>
    public static DmarcRecord? Parse(string txt, out string? problem)
    {
        problem = null;
        var tags = DkimKeyRecord.Parse(txt);
        if (!tags.TryGetValue("p", out var p) || ParsePolicy(p) is not { } policy)
        {
            problem = $"the record has no valid p= ({txt})";
            return null;
        }
        var sp = tags.TryGetValue("sp", out var s) && ParsePolicy(s) is { } sub ? sub : policy;
        int pct = tags.TryGetValue("pct", out var pc) && int.TryParse(pc, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? Math.Clamp(n, 0, 100) : 100;
        return new DmarcRecord(policy, sp,
            tags.GetValueOrDefault("adkim")?.Equals("s", StringComparison.OrdinalIgnoreCase) == true,
            tags.GetValueOrDefault("aspf")?.Equals("s", StringComparison.OrdinalIgnoreCase) == true,
            pct);
    }

    private static DmarcPolicy? ParsePolicy(string value) => value.ToLowerInvariant() switch
    {
        "none" => DmarcPolicy.None,
        "quarantine" => DmarcPolicy.Quarantine,
        "reject" => DmarcPolicy.Reject,
        _ => null,
    };
}
