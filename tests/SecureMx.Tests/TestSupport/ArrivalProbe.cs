using SecureMx.Spool;

namespace SecureMx.Tests.TestSupport;

/// <summary>An arrival sink that runs <paramref name="onArrival"/> when a message is committed to the spool (before the acceptor returns).</summary>
public sealed class ArrivalProbe(Action<string> onArrival) : IMessageArrivalSink
{
    public void MessageArrived(string messageId) => onArrival(messageId);
}
