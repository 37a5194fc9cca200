namespace SecureMx.Dkim;

/// <summary>A private key that cannot be read: its file is missing or unreadable, its sealed copy does not decrypt, or it is not a key.</summary>
public sealed class DkimKeyUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
