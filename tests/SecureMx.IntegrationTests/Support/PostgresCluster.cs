using System.Net;
using System.Security.Cryptography;

namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// A private PostgreSQL 15 for the multi-node tests: <c>initdb</c> and <c>pg_ctl</c> as the system user
/// <c>postgres</c> (both refuse to run as root) in a temporary directory, listening on one loopback
/// address and port only, password authentication (scram-sha-256) for every connection, no system
/// service involved. It can be stopped and started again on the same address and port (a store outage).
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    private const string Bin = "/usr/lib/postgresql/15/bin";
    public const string User = "postgres";

    public IPEndPoint Endpoint { get; }
    public string Password { get; }
    private readonly string _root;
    private string DataDir => Path.Combine(_root, "data");
    private string LogFile => Path.Combine(_root, "postgres.log");
    private string SocketDir => Path.Combine(_root, "sock");

    /// <summary>A file holding <see cref="Password"/> on its first line, readable by root only (store.passwordFile).</summary>
    public string PasswordFile => Path.Combine(_root, "password");

    public bool Running { get; private set; }

    private PostgresCluster(string root, IPEndPoint endpoint, string password)
    {
        _root = root;
        Endpoint = endpoint;
        Password = password;
    }

    public static bool Available => File.Exists(Path.Combine(Bin, "initdb"));

    /// <summary>initdb + start on <paramref name="endpoint"/> (default: a free port on 127.0.3.x).</summary>
    public static async Task<PostgresCluster> StartAsync(IPEndPoint? endpoint = null)
    {
        if (!Available) throw new InvalidOperationException($"PostgreSQL 15 is not installed ({Bin}); scripts/install-test-deps.sh installs it");
        var root = Directory.CreateTempSubdirectory("securemx-pg-").FullName;
        var cluster = new PostgresCluster(root, endpoint ?? Net.FreeEndpoint(), Convert.ToHexString(RandomNumberGenerator.GetBytes(16)));
        try
        {
            // The folder is postgres's (initdb makes data/ in it, pg_ctl writes the log); the password file stays root's.
            File.SetUnixFileMode(root, (UnixFileMode)0b111_101_101);
            await Chown(root);
            Directory.CreateDirectory(cluster.SocketDir);
            await File.WriteAllTextAsync(cluster.PasswordFile, cluster.Password + "\n");
            File.SetUnixFileMode(cluster.PasswordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            // initdb reads the superuser's password from a file the postgres user can read: a copy, removed after.
            var initPassword = Path.Combine(root, "initdb-password");
            await File.WriteAllTextAsync(initPassword, cluster.Password + "\n");
            await Chown(cluster.SocketDir);
            await Chown(initPassword);
            var init = await AsPostgres($"{Bin}/initdb -D {cluster.DataDir} -A scram-sha-256 -U {User} --pwfile={initPassword} --no-sync -E UTF8 --locale=C.UTF-8");
            File.Delete(initPassword);
            Assert.True(init.ExitCode == 0, "initdb: " + init.All);
            await cluster.StartAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>pg_ctl start on the cluster's address and port; returns when it accepts connections.</summary>
    public async Task StartAsync()
    {
        // fsync off: the tests are about SecureMx's behaviour, not PostgreSQL's durability.
        var options = $"-h {Endpoint.Address} -p {Endpoint.Port} -k {SocketDir} -c fsync=off -c max_connections=300";
        var start = await AsPostgres($"{Bin}/pg_ctl -D {DataDir} -o '{options}' -l {LogFile} -w -t 30 start");
        Assert.True(start.ExitCode == 0, "pg_ctl start: " + start.All + "\n" + Log);
        Running = true;
    }

    /// <summary>pg_ctl stop -m fast: open connections are broken, as when the server goes away.</summary>
    public async Task StopAsync()
    {
        var stop = await AsPostgres($"{Bin}/pg_ctl -D {DataDir} -m fast -w -t 30 stop");
        Assert.True(stop.ExitCode == 0, "pg_ctl stop: " + stop.All);
        Running = false;
    }

    public string Log => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "";

    /// <summary>postgresql://postgres@ADDR:PORT/DB as store.connectionString takes it (no password in it).</summary>
    public string Uri(string database) => $"postgresql://{User}@{Endpoint.Address}:{Endpoint.Port}/{database}";

    /// <summary>Creates an empty database named <paramref name="database"/>; returns its URI.</summary>
    public async Task<string> CreateDatabaseAsync(string database)
    {
        var r = await PsqlAsync("postgres", $"CREATE DATABASE {database}");
        Assert.True(r.ExitCode == 0, "CREATE DATABASE: " + r.All);
        return Uri(database);
    }

    /// <summary>Runs one SQL statement with psql over TCP (with the password); tab-separated rows, no header.</summary>
    public Task<ProcessResult> PsqlAsync(string database, string sql) =>
        Run.ProcessAsync("psql", ["-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-h", Endpoint.Address.ToString(), "-p", Endpoint.Port.ToString(), "-U", User, "-d", database, "-c", sql],
            env: new Dictionary<string, string> { ["PGPASSWORD"] = Password, ["PGCONNECT_TIMEOUT"] = "5" });

    /// <summary>The first column of the first row of <paramref name="sql"/>, trimmed; the test fails on an error.</summary>
    public async Task<string> ScalarAsync(string database, string sql)
    {
        var r = await PsqlAsync(database, sql);
        Assert.True(r.ExitCode == 0, $"psql {sql}: {r.All}");
        return r.StdOut.Trim();
    }

    private static Task<ProcessResult> AsPostgres(string command) => Run.ProcessAsync("su", [User, "-s", "/bin/sh", "-c", command], timeout: TimeSpan.FromSeconds(90));

    private static async Task Chown(string path)
    {
        var r = await Run.ProcessAsync("chown", [$"{User}:", path]);
        Assert.True(r.ExitCode == 0, "chown: " + r.All);
    }

    public async ValueTask DisposeAsync()
    {
        if (Running)
        {
            try { await AsPostgres($"{Bin}/pg_ctl -D {DataDir} -m immediate -w -t 30 stop"); } catch (Exception) { }
            Running = false;
        }
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
