namespace SecureMx.Tests.TestSupport;

/// <summary>A dialogue went otherwise than its file says; the message holds the whole transcript so far.</summary>
public sealed class SmtpDialogueException(string message, Exception? inner = null) : Exception(message, inner);
