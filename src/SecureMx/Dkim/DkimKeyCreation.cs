using SecureMx.Store;

namespace SecureMx.Dkim;

/// <summary>
/// Makes a key for a hosted domain (`securemx dkim add`): checks the domain and the selector, generates the
/// pair, stores the private half durably first and only then the row that names it — a crash in between
/// leaves an unused private key, never a row without one.
/// </summary>
public sealed class DkimKeyCreation(DkimKeyRepository keys, DkimPrivateKeyStore secrets, TimeProvider time)
{
    public DkimKey Create(string domain, string? selector, DkimAlgorithm algorithm, DkimKeyState state)
    {
        if (!keys.IsHosted(domain)) throw new StoreException($"{domain} is not a hosted domain (securemx domain add {domain})");
        return Create(domain, selector, algorithm, state, keys.List(domain));
    }

    /// <summary>
    /// `securemx dkim rotate`: a pending key for each kind that has an active key; it signs once its record is
    /// seen in DNS (<see cref="DkimRotation"/>). Refused when the domain has no active key, or a rotation of a
    /// kind is already under way.
    /// </summary>
    public List<DkimKey> Rotate(string domain)
    {
        if (!keys.IsHosted(domain)) throw new StoreException($"{domain} is not a hosted domain (securemx domain add {domain})");
        var all = keys.List(domain);
        var kinds = all.Where(k => k.State == DkimKeyState.Active).Select(k => k.Algorithm).Distinct().Order().ToList();
        if (kinds.Count == 0) throw new StoreException($"{domain} has no active DKIM key to rotate (securemx dkim add {domain})");
        if (all.FirstOrDefault(k => k.State == DkimKeyState.Pending && kinds.Contains(k.Algorithm)) is { } pending)
            throw new StoreException($"a rotation of {domain} is under way: {pending.Selector} ({pending.Algorithm.Name()}) waits for its record in DNS");
        var made = new List<DkimKey>();
        foreach (var kind in kinds)
        {
            var key = Create(domain, null, kind, DkimKeyState.Pending, all);
            all.Add(key);
            made.Add(key);
        }
        return made;
    }

    private DkimKey Create(string domain, string? selector, DkimAlgorithm algorithm, DkimKeyState state, List<DkimKey> present)
    {
        var existing = present.Select(k => k.Selector).ToHashSet(StringComparer.Ordinal);
        var now = time.GetUtcNow();
        string name;
        if (selector is null)
        {
            name = DkimSelector.Default(now, algorithm, existing);
        }
        else
        {
            name = DkimSelector.Normalize(selector) ?? throw new StoreException($"'{selector}' is not a valid selector (DNS labels of letters, digits and hyphens)");
            if (existing.Contains(name)) throw new StoreException($"{domain} already has a DKIM key with selector {name}");
        }
        var pair = DkimKeyGenerator.Generate(algorithm);
        secrets.Save(domain, name, pair.PrivateKeyPem);
        var key = new DkimKey(domain, name, algorithm, state, now, pair.PublicKey);
        keys.Add(key);
        return key;
    }
}
