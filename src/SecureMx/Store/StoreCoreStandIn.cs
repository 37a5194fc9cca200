namespace SecureMx.Store;

/// <summary>
/// Stand-in for two members the PostgreSQL backend adds to <see cref="StoreDatabase"/> (a SQLite store is
/// never shared, and never "unreachable"). Removed when that backend is merged: its own members replace these.
/// </summary>
public static class StoreCoreStandIn
{
    extension(StoreDatabase db)
    {
        public bool IsShared => false;

        public static bool IsUnreachable(Exception ex) => ex is Npgsql.NpgsqlException { IsTransient: true } || ex.InnerException is System.Net.Sockets.SocketException;
    }
}
