using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace SecureMx.Store;

/// <summary>
/// The instance's store database (<c>securemx.db</c>) and the one place that knows it is SQLite:
/// the connection string, pooled connections, the log writers' own connection, the schema
/// migrations and the transaction modes. The repositories (<see cref="MailboxRepository"/>,
/// <see cref="TlsPolicyRepository"/>, <see cref="RoleRepository"/>, <see cref="DeliveryLogRepository"/>,
/// <see cref="SessionLogRepository"/>, <see cref="ReadinessQueries"/>) see only
/// <see cref="StoreConnection"/> and ADO.NET's <see cref="DbDataReader"/>, with <c>@name</c>
/// parameters, which both SQLite and PostgreSQL understand.
/// <para>
/// A second backend (the PostgreSQL issue) replaces what this class and <see cref="StoreSchema"/>
/// do: the connection source (a pooled data source instead of SqliteConnection), the migrations and
/// the version counter (a table instead of <c>PRAGMA user_version</c>), <see cref="StoreConnection.BeginWrite"/>
/// (SQLite's BEGIN IMMEDIATE takes the write lock before the checks; PostgreSQL needs SERIALIZABLE or
/// row locks for the same guarantee), the log connection's <c>synchronous=NORMAL</c> (there:
/// <c>synchronous_commit=off</c>), and the SQL marked "SQLite:" in the repositories (COLLATE NOCASE,
/// case-insensitive LIKE, INSERT OR REPLACE, rtrim/char string tricks). Callers catch
/// <see cref="DbException"/>, which both providers' errors derive from.
/// </para>
/// The CLI and the server open the store at the same time; WAL mode lets readers continue while one
/// writes, and the server reads it on every RCPT, so changes apply at once.
/// </summary>
public sealed class StoreDatabase
{
    public const string FileName = "securemx.db";

    private readonly string _connectionString;

    public string DataDirectory { get; }

    public StoreDatabase(string dataDirectory)
    {
        DataDirectory = dataDirectory;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dataDirectory, FileName),
            Pooling = true,
            ForeignKeys = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>The store of <paramref name="dataDirectory"/>, its schema brought up to date.</summary>
    public static StoreDatabase OpenMigrated(string dataDirectory)
    {
        var db = new StoreDatabase(dataDirectory);
        db.Migrate();
        return db;
    }

    /// <summary>A pooled connection; busy waits are retried by Microsoft.Data.Sqlite up to DefaultTimeout.</summary>
    public StoreConnection Connect()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        return new StoreConnection(c);
    }

    /// <summary>
    /// A connection of its own for a log writer, with synchronous=NORMAL: in WAL mode its commits stay
    /// consistent after a crash but are not fsync'd one by one — a power failure may cost the newest
    /// log rows, never the queue (which has its own database) and never the configuration (whose
    /// pooled connections keep synchronous=FULL). One fsync per delivered message halved throughput.
    /// </summary>
    public StoreConnection ConnectForLogWrites()
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder(_connectionString) { Pooling = false }.ToString());
        c.Open();
        var connection = new StoreConnection(c);
        connection.Execute("PRAGMA synchronous=NORMAL;");
        return connection;
    }

    /// <summary>Creates or upgrades the schema (PRAGMA user_version counts the migrations applied).</summary>
    public void Migrate()
    {
        using var c = Connect();
        c.Execute("PRAGMA journal_mode=WAL;");
        var version = Convert.ToInt32(c.Scalar("PRAGMA user_version"), System.Globalization.CultureInfo.InvariantCulture);
        for (int step = version; step < StoreSchema.Migrations.Length; step++)
        {
            // Each step and its version number in one transaction: all of it or nothing.
            c.BeginWrite();
            c.Execute(StoreSchema.Migrations[step] + $"\nPRAGMA user_version = {step + 1};");
            c.Commit();
        }
    }

    /// <summary>Closes the idle pooled connections (before the directory is moved or deleted).</summary>
    public void ReleasePooledConnections()
    {
        using var c = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(c);
    }

    public object? Scalar(string sql, params (string Name, object? Value)[] parameters)
    {
        using var c = Connect();
        return c.Scalar(sql, parameters);
    }

    public List<T> Rows<T>(string sql, Func<DbDataReader, T> row, params (string Name, object? Value)[] parameters)
    {
        using var c = Connect();
        return c.Rows(sql, row, parameters);
    }

    public int Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        using var c = Connect();
        return c.Execute(sql, parameters);
    }

    /// <summary>A literal for <c>LIKE … ESCAPE '\'</c>: '_' and '%' match only themselves.</summary>
    public static string EscapeLike(string text) => text.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_");
}
