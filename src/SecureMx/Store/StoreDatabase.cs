using System.Data.Common;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Npgsql;
using SecureMx.Config;

namespace SecureMx.Store;

/// <summary>Where the store lives: the embedded SQLite file of one box, or PostgreSQL shared by several nodes.</summary>
public enum StoreBackend { Sqlite, PostgreSql }

/// <summary>
/// The instance's store database and the one place that knows which backend it is: the embedded
/// SQLite file <c>securemx.db</c> (the default: one box, no server) or a PostgreSQL database shared
/// by several nodes (<c>store.connectionString</c>). Here: the connection source (pooled SQLite
/// connections, or an Npgsql data source), the log writers' own connections, the versioned
/// migrations of each backend (<see cref="StoreSchema"/>, <see cref="PostgresSchema"/>) and the
/// transaction modes (<see cref="StoreConnection"/>). The repositories see only
/// <see cref="StoreConnection"/> and ADO.NET's <see cref="DbDataReader"/> with <c>@name</c>
/// parameters, which both providers understand; the few expressions that differ come from
/// <see cref="Dialect"/>. Callers catch <see cref="DbException"/>, which both providers' errors
/// derive from, and ask <see cref="IsUnreachable"/> whether it means "the store is not there now".
/// The CLI and the server open the store at the same time: SQLite in WAL mode lets readers continue
/// while one writes; PostgreSQL is a server.
/// </summary>
public sealed class StoreDatabase
{
    public const string FileName = "securemx.db";

    // Migrations of a PostgreSQL store take this session-level advisory lock: nodes started together
    // migrate one after the other, and the later ones find nothing left to do.
    private const long MigrationLockKey = 0x534D58_0002;

    private readonly string _connectionString;
    private readonly ReadOnlyAccess? _readOnly;
    private readonly SqliteReaderPool? _lookups; // SQLite read-write: connections kept for ConnectForLookups
    private readonly string? _unpooledConnectionString; // SQLite read-write: _connectionString without Microsoft.Data.Sqlite's pool
    private readonly NpgsqlDataSource? _postgres;
    private readonly NpgsqlDataSource? _postgresLogWrites;

    public string DataDirectory { get; }

    public StoreBackend Backend { get; }

    /// <summary>Whether several nodes may share this store (PostgreSQL).</summary>
    public bool IsShared => Backend == StoreBackend.PostgreSql;

    private const int LogWritesPoolSize = 4;

    /// <summary>
    /// The connections a shared store may hold open at once (its two pools and the dedicated LISTEN sessions),
    /// each a descriptor (Hosting/OpenFileLimit); 0 for SQLite, whose files are few and counted at start.
    /// </summary>
    public int ConnectionsAtMost => IsShared ? PostgresConnection.MaxPoolSize + LogWritesPoolSize + 2 : 0;

    /// <summary>The SQL expressions that differ between the backends.</summary>
    public StoreDialect Dialect { get; }

    /// <summary>The store for messages: the SQLite file's path, or the PostgreSQL URI (never with a password).</summary>
    public string Location { get; }

    /// <summary>Whether this store was opened for reading only (<see cref="OpenForReading(string)"/>).</summary>
    public bool IsReadOnly => _readOnly is not null;

    public StoreDatabase(string dataDirectory) : this(dataDirectory, readOnly: false)
    {
    }

    private StoreDatabase(string dataDirectory, bool readOnly)
    {
        DataDirectory = dataDirectory;
        Backend = StoreBackend.Sqlite;
        Dialect = StoreDialect.Sqlite;
        var path = Path.Combine(dataDirectory, FileName);
        Location = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Pooling = true,
            ForeignKeys = true,
            DefaultTimeout = 30,
            Mode = readOnly ? SqliteOpenMode.ReadOnly : SqliteOpenMode.ReadWriteCreate,
        }.ToString();
        if (readOnly) _readOnly = new ReadOnlyAccess(path, _connectionString);
        else
        {
            // Connections kept for a long time, outside Microsoft.Data.Sqlite's pool: the lookups' (SqliteReaderPool is
            // the pool of these, and a connection it closes is closed) and the log writers'.
            var unpooled = _unpooledConnectionString = new SqliteConnectionStringBuilder(_connectionString) { Pooling = false }.ToString();
            _lookups = new SqliteReaderPool(() => SqliteLibrary.Open(unpooled));
        }
    }

    private StoreDatabase(string dataDirectory, PostgresUri uri, string? password, string applicationName)
    {
        DataDirectory = dataDirectory;
        Backend = StoreBackend.PostgreSql;
        Dialect = StoreDialect.PostgreSql;
        Location = uri.ToString();
        var builder = PostgresConnection.Builder(uri, password, applicationName);
        _connectionString = builder.ConnectionString;
        _postgres = NpgsqlDataSource.Create(builder);
        // The log writers' own pool (a batch is one commit, so its WAL flush is shared by the batch's
        // rows). Unlike SQLite's synchronous=NORMAL, commits stay synchronous: a PostgreSQL that crashes
        // would otherwise lose batches the writer already counts as written.
        _postgresLogWrites = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(builder.ConnectionString) { MaxPoolSize = LogWritesPoolSize });
    }

    /// <summary>
    /// The instance's store as its configuration says (<c>store.connectionString</c>: empty = the SQLite
    /// file in <paramref name="dataDirectory"/>), its schema brought up to date.
    /// </summary>
    public static StoreDatabase Open(string dataDirectory, StoreOptions options)
    {
        var db = OpenUnmigrated(dataDirectory, options);
        db.Migrate();
        return db;
    }

    /// <summary>The store without touching its schema (`securemx store migrate` says what it does before it does it).</summary>
    public static StoreDatabase OpenUnmigrated(string dataDirectory, StoreOptions options, string applicationName = "securemx")
    {
        if (!options.IsShared) return new StoreDatabase(dataDirectory);
        PostgresUri uri;
        try
        {
            uri = PostgresUri.Parse(options.ConnectionString);
        }
        catch (FormatException ex)
        {
            throw new StoreException(ex.Message);
        }
        return new StoreDatabase(dataDirectory, uri, PostgresConnection.ReadPasswordFile(dataDirectory, options.PasswordFile), applicationName);
    }

    /// <summary>The SQLite store of <paramref name="dataDirectory"/>, its schema brought up to date.</summary>
    public static StoreDatabase OpenMigrated(string dataDirectory)
    {
        var db = new StoreDatabase(dataDirectory);
        db.Migrate();
        return db;
    }

    /// <summary>
    /// The store for a command that only reads (`domain list`, `log`, `policy show` …): SQLite opened
    /// read-only, so that it works on a full disk, where a read-write open fails (SQLite Error 10) because
    /// SQLite cannot make its shared-memory file (<see cref="ReadOnlyAccess"/>). A store whose schema is
    /// older than this program is migrated first, as by <see cref="OpenMigrated"/> (that writes).
    /// PostgreSQL: opened as for writing (a full local disk does not concern it), and migrated likewise.
    /// </summary>
    public static StoreDatabase OpenForReading(string dataDirectory, StoreOptions options) =>
        options.IsShared ? Open(dataDirectory, options) : OpenForReading(dataDirectory);

    /// <summary>The SQLite store opened read-only (<see cref="OpenForReading(string, StoreOptions)"/>).</summary>
    public static StoreDatabase OpenForReading(string dataDirectory)
    {
        var db = new StoreDatabase(dataDirectory, readOnly: true);
        var version = db.SchemaVersion();
        RefuseNewer(db, version);
        return version < db.KnownSchemaVersion ? OpenMigrated(dataDirectory) : db;
    }

    /// <summary>A pooled connection; SQLite's busy waits are retried by Microsoft.Data.Sqlite up to DefaultTimeout.</summary>
    public StoreConnection Connect()
    {
        if (_postgres is not null) return ConnectPostgres();
        if (_readOnly is not null) return new StoreConnection(_readOnly.Open(), Backend);
        return new StoreConnection(SqliteLibrary.Open(_connectionString), Backend);
    }

    /// <summary>
    /// A connection for the lookups of the mail path (a recipient, a domain's switch, a mailbox's setting), whose
    /// SQL texts are constants. SQLite: one kept open with the statements it has run, prepared
    /// (<see cref="SqliteReaderPool"/>) — opening a pooled connection (and its PRAGMA) and parsing two statements per
    /// RCPT cost more than reading the rows. PostgreSQL and a store opened for reading: <see cref="Connect"/>.
    /// </summary>
    public StoreConnection ConnectForLookups() => _lookups is null ? Connect() : new StoreConnection(_lookups.Rent());

    /// <summary>One value read on a connection of <see cref="ConnectForLookups"/>; the SQL text is a constant.</summary>
    public object? LookupScalar(string sql, params (string Name, object? Value)[] parameters)
    {
        using var c = ConnectForLookups();
        return c.Scalar(sql, parameters);
    }

    // After a connection attempt found the server unreachable, further attempts fail at once for this
    // long: a network cut must not hold every RCPT that the cache cannot decide for the connect
    // timeout, nor fill the pool with waiting opens. The directory's reloads retry after it.
    private static readonly long UnreachableHoldMilliseconds = 2000;
    private long _unreachableUntil;

    private StoreConnection ConnectPostgres()
    {
        if (Environment.TickCount64 < Volatile.Read(ref _unreachableUntil))
            throw new StoreUnreachableException($"the store {Location} was unreachable moments ago; not asked again yet");
        try
        {
            return new StoreConnection(_postgres!.OpenConnection(), Backend);
        }
        catch (Exception ex) when (IsUnreachable(ex))
        {
            Volatile.Write(ref _unreachableUntil, Environment.TickCount64 + UnreachableHoldMilliseconds);
            throw;
        }
    }

    /// <summary>
    /// A connection of its own for a log writer. SQLite: synchronous=NORMAL — in WAL mode its commits
    /// stay consistent after a crash but are not fsync'd one by one: a power failure may cost the newest
    /// log rows, never the queue (which has its own database) and never the configuration (whose pooled
    /// connections keep synchronous=FULL). One fsync per delivered message halved throughput.
    /// PostgreSQL: a pool of its own, commits synchronous (the database server is shared; its crash must
    /// not cost rows the writer counted as written).
    /// </summary>
    public StoreConnection ConnectForLogWrites()
    {
        if (_readOnly is not null) throw new InvalidOperationException("the store was opened for reading only");
        if (_postgresLogWrites is not null) return new StoreConnection(_postgresLogWrites.OpenConnection(), Backend);
        var connection = new StoreConnection(SqliteLibrary.Open(_unpooledConnectionString!), Backend);
        try
        {
            connection.Execute("PRAGMA synchronous=NORMAL;");
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A connection outside the pool for a long-lived session (LISTEN): PostgreSQL only. Its keepalive
    /// notices a database that went away while the connection was idle.
    /// </summary>
    public NpgsqlConnection OpenDedicatedPostgresConnection()
    {
        if (_postgres is null) throw new InvalidOperationException("only a PostgreSQL store has dedicated connections");
        var c = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_connectionString) { Pooling = false, KeepAlive = 10 }.ToString());
        c.Open();
        return c;
    }

    /// <summary>The number of schema steps this program knows for the backend.</summary>
    public int KnownSchemaVersion => Backend == StoreBackend.Sqlite ? StoreSchema.Migrations.Length : PostgresSchema.Migrations.Length;

    /// <summary>The number of schema steps the store has applied (0 for a new one).</summary>
    public int SchemaVersion()
    {
        using var c = Connect();
        return SchemaVersion(c);
    }

    private int SchemaVersion(StoreConnection c) => Backend == StoreBackend.Sqlite
        ? Convert.ToInt32(c.Scalar("PRAGMA user_version"), System.Globalization.CultureInfo.InvariantCulture)
        : c.Scalar("SELECT to_regclass('schema_version') IS NOT NULL") is true
            ? Convert.ToInt32(c.Scalar("SELECT COALESCE(MAX(version), 0) FROM schema_version"), System.Globalization.CultureInfo.InvariantCulture)
            : 0;

    /// <summary>
    /// Creates or upgrades the schema; returns the versions before and after. A store whose schema is
    /// newer than this program knows (a newer node migrated it) is refused: this program would write
    /// rows without the columns the newer one relies on.
    /// </summary>
    public (int From, int To) Migrate()
    {
        using var c = Connect();
        if (Backend == StoreBackend.Sqlite)
        {
            c.Execute("PRAGMA journal_mode=WAL;");
            var version = SchemaVersion(c);
            RefuseNewer(this, version);
            for (int step = version; step < StoreSchema.Migrations.Length; step++)
            {
                // Each step and its version number in one transaction: all of it or nothing.
                c.BeginWrite();
                c.Execute(StoreSchema.Migrations[step] + $"\nPRAGMA user_version = {step + 1};");
                c.Commit();
            }
            return (version, Math.Max(version, StoreSchema.Migrations.Length));
        }

        // Up to date (every open but the first after an upgrade): no lock, no DDL — a role without
        // CREATE on the schema can run a node, and a read never waits behind another node's migration.
        var current = SchemaVersion(c);
        RefuseNewer(this, current);
        if (current == PostgresSchema.Migrations.Length) return (current, current);
        c.Execute("SELECT pg_advisory_lock(@key)", ("@key", MigrationLockKey));
        bool completed = false;
        try
        {
            c.Execute("CREATE TABLE IF NOT EXISTS schema_version(version BIGINT NOT NULL)");
            var version = SchemaVersion(c); // again, under the lock: another node may have migrated meanwhile
            RefuseNewer(this, version);
            for (int step = version; step < PostgresSchema.Migrations.Length; step++)
            {
                c.BeginUnlocked();
                c.Execute(PostgresSchema.Migrations[step]);
                c.Execute("DELETE FROM schema_version; INSERT INTO schema_version(version) VALUES(@v)", ("@v", (long)step + 1));
                c.Commit();
            }
            completed = true;
            return (version, Math.Max(version, PostgresSchema.Migrations.Length));
        }
        finally
        {
            try
            {
                // A failed step left its transaction aborted: roll it back first, or the unlock fails too.
                c.Rollback();
                c.Execute("SELECT pg_advisory_unlock(@key)", ("@key", MigrationLockKey));
            }
            catch (DbException) when (!completed)
            {
                // The step's own error is the one to report; the lock goes with the connection.
            }
        }
    }

    private static void RefuseNewer(StoreDatabase db, int version)
    {
        if (version > db.KnownSchemaVersion)
            throw new StoreException($"the store {db.Location} has schema version {version}, newer than this SecureMx knows ({db.KnownSchemaVersion}): a newer SecureMx migrated it; upgrade this one");
    }

    /// <summary>
    /// Whether <paramref name="ex"/> means that the store could not be reached now (PostgreSQL stopped,
    /// restarting, the network or the connection gone, a timeout, no connection free), as opposed to a
    /// fault of the request. Callers answer such a failure with a temporary reply and keep going.
    /// The embedded SQLite store is a file: never "unreachable" in this sense.
    /// </summary>
    public static bool IsUnreachable(Exception ex)
    {
        var fromNpgsql = false;
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case StoreUnreachableException:
                    return true;
                case PostgresException pg:
                    // Class 08: connection exception; 57P01–57P03: shut down, crashed, not accepting yet; 53300: too many connections.
                    return pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState is "57P01" or "57P02" or "57P03" or "53300";
                case NpgsqlException npgsql when npgsql.IsTransient:
                    return true;
                case SocketException or TimeoutException:
                    return true; // refused, timed out
                case IOException when fromNpgsql:
                    return true; // the server closed the connection mid-reply (a local file's IOException, e.g. a full disk, is no such thing)
                case NpgsqlException:
                    fromNpgsql = true;
                    continue; // look at what it wraps
                case SqliteException:
                    return false;
            }
        }
        return false;
    }

    /// <summary>Closes the idle pooled connections (before the directory is moved or deleted).</summary>
    public void ReleasePooledConnections()
    {
        if (_postgres is not null)
        {
            _postgres.Clear();
            _postgresLogWrites?.Clear();
            return;
        }
        _lookups?.Clear();
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
