namespace SecureMx.Client;

/// <summary>
/// A connection timed out, at <see cref="Stage"/>. An <see cref="OperationCanceledException"/> like
/// the cancellation it stands for (its token is the one that fired), so every caller that handles a
/// timeout handles this one; its message says where ("timed out after MAIL FROM").
/// </summary>
public sealed class SmtpClientTimeoutException(ClientStage stage, OperationCanceledException inner)
    : OperationCanceledException($"timed out {stage.Describe()}", inner, inner.CancellationToken)
{
    public ClientStage Stage { get; } = stage;
}
