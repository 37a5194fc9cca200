namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// A node's place in a shared PostgreSQL store: the URI (no password), the file holding the password,
/// the node's name, and whether this node adds the instance's domain and mailboxes (only the first of
/// the nodes does; the others find them in the store).
/// </summary>
public sealed record SharedStore(string Uri, string PasswordFile, string NodeName, bool HostDomain);
