namespace SecureMx.Spool;

/// <summary>What became of a message given to <see cref="MessageAcceptor.AcceptAsync"/>.</summary>
public abstract record AcceptResult
{
    private AcceptResult() { }

    /// <summary>Committed: the message exists under <paramref name="Id"/> and may be acknowledged (250).</summary>
    public sealed record Accepted(string Id) : AcceptResult;

    /// <summary>Larger than the size limit: refused for good (552 5.3.4); nothing was stored.</summary>
    public sealed record TooBig : AcceptResult
    {
        public static TooBig Instance { get; } = new();
    }

    /// <summary>Could not be stored (451 4.3.0, or 452 4.3.1 when the disk is full); nothing of it is left in the spool.</summary>
    public sealed record StorageFailed(StorageFailure Failure) : AcceptResult;
}
