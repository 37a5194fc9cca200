using SecureMx.Mail;
using SecureMx.Queue;
using SecureMx.Store;

namespace SecureMx.Tests.Queue;

/// <summary>The tags of securemx.delivery.attempts: the result from the recipient's new state, the TLS from the delivery log's row.</summary>
public sealed class DeliveryAttemptLabelsTests
{
    private static DeliveryLogEntry Row(string? mx, string? ip, string verification, string? tlsFailure = null) =>
        new(DateTimeOffset.UnixEpoch, "id", "a@example.org", null, "b@example.net", mx, ip, "delivered", 250, "2.0.0", "ok", null, null, verification, tlsFailure);

    [Theory]
    [InlineData(RecipientState.Delivered, "delivered")]
    [InlineData(RecipientState.Deferred, "deferred")]
    [InlineData(RecipientState.Failed, "failed")]
    public void TheResultIsTheRecipientsNewState(RecipientState state, string label) => Assert.Equal(label, QueueRunner.ResultLabel(state));

    [Fact]
    public void TheTlsTagIsLocalStarttlsFailedOrTheSessionsVerification()
    {
        Assert.Equal("local", QueueRunner.TlsLabel(Row(DeliveryLogEntry.Local, null, DeliveryLogEntry.Local)));
        Assert.Equal("starttls-failed", QueueRunner.TlsLabel(Row("mx.example.net", "192.0.2.1", "none", "handshake")));
        Assert.Equal("none", QueueRunner.TlsLabel(Row("mx.example.net", "192.0.2.1", "none")));
        Assert.Equal("dane", QueueRunner.TlsLabel(Row("mx.example.net", "192.0.2.1", "dane")));
        Assert.Equal("none", QueueRunner.TlsLabel(Row(null, null, "none"))); // DNS failure: no server reached
    }
}
