namespace SecureMx.Store;

/// <summary>
/// The connection a log writer writes its batches on (<see cref="StoreDatabase.ConnectForLogWrites"/>,
/// synchronous=NORMAL), opened at the first batch. Each batch is one write transaction; after a
/// failure the connection is dropped, so that the retry starts on a clean one. Used by one writer,
/// one batch at a time.
/// </summary>
internal sealed class LogWriteConnection(StoreDatabase db) : IDisposable
{
    private StoreConnection? _connection;

    public void InTransaction(Action<StoreConnection> write)
    {
        var c = _connection ??= db.ConnectForLogWrites();
        try
        {
            c.BeginUnlocked();
            write(c);
            c.Commit();
        }
        catch
        {
            c.Dispose();
            _connection = null;
            throw;
        }
    }

    public void Dispose() => _connection?.Dispose();
}
