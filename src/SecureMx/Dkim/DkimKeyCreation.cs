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
        var existing = keys.List(domain).Select(k => k.Selector).ToHashSet(StringComparer.Ordinal);
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
