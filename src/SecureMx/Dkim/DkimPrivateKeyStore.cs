using SecureMx.Store;

namespace SecureMx.Dkim;

/// <summary>
/// Where the private halves of DKIM keys live: on a single box files under DIR/dkim
/// (<see cref="DkimKeyFiles"/>), with nodes sharing one PostgreSQL store the store's <c>dkim_keys</c>
/// table, sealed with AES-256-GCM under the key file every node already shares
/// (<see cref="DkimSealedKeys"/>): each node must sign with the same keys.
/// </summary>
public abstract class DkimPrivateKeyStore
{
    /// <summary>Stores the PEM of a new key durably, before its row names it.</summary>
    public abstract void Save(string domain, string selector, string pem);

    /// <summary>The PEM of a key; <see cref="DkimKeyUnavailableException"/> when it cannot be read.</summary>
    public abstract string Load(string domain, string selector);

    /// <summary>Forgets a removed key (nothing when it is not there).</summary>
    public abstract void Delete(string domain, string selector);

    /// <summary>
    /// The store for the instance of <paramref name="db"/>: sealed in a shared store under the 256-bit key
    /// <paramref name="sealingKey"/> gives (read only then), files otherwise.
    /// </summary>
    public static DkimPrivateKeyStore For(StoreDatabase db, Func<byte[]> sealingKey) =>
        db.IsShared ? new DkimSealedKeys(db, sealingKey()) : new DkimKeyFiles(db.DataDirectory);
}
