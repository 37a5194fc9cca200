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
    private readonly ReadOnlyAccess? _readOnly;

    public string DataDirectory { get; }

    /// <summary>Whether this store was opened for reading only (<see cref="OpenForReading"/>).</summary>
    public bool IsReadOnly => _readOnly is not null;

    public StoreDatabase(string dataDirectory) : this(dataDirectory, readOnly: false)
    {
    }

    private StoreDatabase(string dataDirectory, bool readOnly)
    {
        DataDirectory = dataDirectory;
        var path = Path.Combine(dataDirectory, FileName);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Pooling = true,
            ForeignKeys = true,
            DefaultTimeout = 30,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWriteCreate,
        }.ToString();
        if (readOnly) _readOnly = new ReadOnlyAccess(path, _connectionString);
    }

    /// <summary>The store of <paramref name="dataDirectory"/>, its schema brought up to date.</summary>
    public static StoreDatabase OpenMigrated(string dataDirectory)
    {
        var db = new StoreDatabase(dataDirectory);
        db.Migrate();
        return db;
    }

    /// <summary>
    /// The store for a command that only reads (`domain list`, `log`, `policy show` …): opened read-only,
    /// so that it works on a full disk, where a read-write open fails (SQLite Error 10) because SQLite
    /// cannot make its shared-memory file (<see cref="ReadOnlyAccess"/>). A store whose schema is older
    /// than this program is migrated first, as by <see cref="OpenMigrated"/> (that writes).
    /// </summary>
    public static StoreDatabase OpenForReading(string dataDirectory)
    {
        var db = new StoreDatabase(dataDirectory, readOnly: true);
        var version = Convert.ToInt32(db.Scalar("PRAGMA user_version"), System.Globalization.CultureInfo.InvariantCulture);
        return version < StoreSchema.Migrations.Length ? OpenMigrated(dataDirectory) : db;
    }

    /// <summary>A pooled connection; busy waits are retried by Microsoft.Data.Sqlite up to DefaultTimeout.</summary>
    public StoreConnection Connect()
    {
        if (_readOnly is not null) return new StoreConnection(_readOnly.Open());
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
        if (_readOnly is not null) throw new InvalidOperationException("the store was opened for reading only");
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
        _readOnly?.ReleasePooledConnections();
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
