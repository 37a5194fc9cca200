namespace SecureMx.Store;

/// <summary>Raised for operator mistakes (unknown domain, duplicate mailbox …): the CLI prints the message.</summary>
public sealed class StoreException(string message) : Exception(message);
