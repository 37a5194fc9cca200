namespace SecureMx.Dkim;

/// <summary>A message that should be signed and cannot be now (a key that cannot be read, a store that cannot be reached): the sender is told to try again.</summary>
public sealed class DkimSigningException(string message, Exception? inner = null) : Exception(message, inner);
