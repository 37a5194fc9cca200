namespace SecureMx.MtaSts;

/// <summary>
/// The "_mta-sts.DOMAIN" TXT record (RFC 8461 §3.1): <c>v=STSv1; id=ID;</c>. The id (1–32 letters
/// and digits) changes whenever the policy does, so a sender fetches again only then.
/// </summary>
public sealed record MtaStsTxtRecord(string Id)
{
    /// <summary>The owner name of the record for <paramref name="domain"/>.</summary>
    public static string OwnerName(string domain) => "_mta-sts." + domain.TrimEnd('.');

    /// <summary>The policy host of <paramref name="domain"/> (RFC 8461 §3.3).</summary>
    public static string PolicyHost(string domain) => "mta-sts." + domain.TrimEnd('.');

    /// <summary>The record's text, as `dns-records` prints it.</summary>
    public string ToText() => $"v=STSv1; id={Id};";

    public static bool IsValidId(string id) => id.Length is > 0 and <= 32 && id.All(char.IsAsciiLetterOrDigit);

    /// <summary>
    /// The MTA-STS record among a name's TXT records (RFC 8461 §3.1): records that do not begin with
    /// the version field "v=STSv1" are ignored; none means no policy, and so does more than one or one that does not
    /// parse (the RFC: senders treat that as no policy). <see cref="Error"/> says which, for the log.
    /// </summary>
    public static (MtaStsTxtRecord? Record, string? Error) Select(IEnumerable<string> txtRecords)
    {
        var candidates = txtRecords.Where(BeginsWithVersion).ToList();
        if (candidates.Count == 0) return (null, null);
        if (candidates.Count > 1) return (null, $"{candidates.Count} TXT records begin with v=STSv1 (exactly one is allowed)");
        return Parse(candidates[0]);
    }

    /// <summary>
    /// Whether <paramref name="text"/> begins with the version field: "v=STSv1" ended by the field
    /// delimiter (';' after optional white space, RFC 8461 §3.1) or the end of the text — not "v=STSv10…",
    /// which is another record and is discarded.
    /// </summary>
    private static bool BeginsWithVersion(string text) =>
        text.StartsWith(Version, StringComparison.Ordinal) && (text.Length == Version.Length || text[Version.Length] is ';' or ' ' or '\t');

    private const string Version = "v=STSv1";

    /// <summary>One record: fields separated by ';' (optional white space), v first, then an id.</summary>
    public static (MtaStsTxtRecord? Record, string? Error) Parse(string text)
    {
        var fields = text.Split(';').Select(f => f.Trim()).Where(f => f.Length > 0).ToList();
        if (fields.Count == 0 || fields[0] != Version) return (null, "the record does not begin with v=STSv1");
        string? id = null;
        foreach (var field in fields.Skip(1))
        {
            int eq = field.IndexOf('=');
            if (eq <= 0) return (null, $"field '{field}' is not key=value");
            if (field[..eq] == "id" && id is null) id = field[(eq + 1)..];
        }
        if (id is null) return (null, "the record has no id");
        if (!IsValidId(id)) return (null, $"id '{id}' is not 1 to 32 letters and digits");
        return (new MtaStsTxtRecord(id), null);
    }
}
