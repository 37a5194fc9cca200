namespace SecureMx.Spool;

/// <summary>Told about every committed message, so the queue can deliver it without polling.</summary>
public interface IMessageArrivalSink
{
    void MessageArrived(string messageId);
}
