using Npgsql;

namespace SecureMx.Store;

/// <summary>
/// The directory's change feed on PostgreSQL: one connection of its own that <c>LISTEN</c>s on
/// <see cref="Channel"/>, where the triggers of <see cref="PostgresSchema"/> (step 2) send a
/// notification for every statement that changes domains, mailboxes, aliases or tls_destinations —
/// whoever made it. A quiet connection is checked every <see cref="KeepAlive"/> with a query, so a
/// server that vanished without closing it (a cut network, a frozen host) is noticed and the node
/// stops trusting its snapshot's misses.
/// </summary>
public sealed class PostgresDirectoryChangeFeed(Func<CancellationToken, Task<NpgsqlConnection>> open) : IDirectoryChangeFeed
{
    public const string Channel = "securemx_directory";

    /// <summary>The feed of a PostgreSQL store, on a connection of its own outside the pool.</summary>
    public static PostgresDirectoryChangeFeed For(StoreDatabase db) => new(ct => Task.Run(db.OpenDedicatedPostgresConnection, ct));

    public static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(10);

    public async Task ListenAsync(Action connected, Action changed, CancellationToken ct)
    {
        await using var connection = await open(ct);
        connection.Notification += (_, e) =>
        {
            if (e.Channel == Channel) changed();
        };
        await using (var listen = new NpgsqlCommand("LISTEN " + Channel, connection))
            await listen.ExecuteNonQueryAsync(ct);
        connected();
        while (true)
        {
            if (await connection.WaitAsync(KeepAlive, ct)) continue;
            await using var ping = new NpgsqlCommand("SELECT 1", connection) { CommandTimeout = (int)KeepAlive.TotalSeconds };
            await ping.ExecuteScalarAsync(ct);
        }
    }
}
