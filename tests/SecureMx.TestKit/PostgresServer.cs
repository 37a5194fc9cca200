using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Npgsql;

namespace SecureMx.TestKit;

/// <summary>A database of <see cref="PostgresServer"/>: what a store's options need (store.connectionString, store.passwordFile).</summary>
/// <param name="ConnectionString">postgresql://USER@HOST:PORT/DB, without the password.</param>
/// <param name="PasswordFile">A 0600 file whose first line is the role's password.</param>
/// <param name="Name">The database's name.</param>
public sealed record PostgresDatabase(string ConnectionString, string PasswordFile, string Name);

/// <summary>
/// A private PostgreSQL 15 for tests: its own cluster made by <c>initdb</c> in a temporary
/// directory, started with <c>pg_ctl</c> on a free loopback port (no system service), as the
/// <c>postgres</c> user when the tests run as root (initdb and the server refuse root). One per
/// test process (<see cref="Shared"/>); every test takes a fresh database from it
/// (<see cref="CreateDatabase"/>). Host logins use scram-sha-256 with a password, as production
/// does; the socket in the cluster's directory trusts local users, for the fixture itself.
/// fsync is off (a test cluster is thrown away, and it makes database creation quick); commits still
/// reach the WAL before they return, so an immediate stop (an outage test) loses nothing acknowledged.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    public const string BinDirectory = "/usr/lib/postgresql/15/bin";
    public const string Role = "securemx";

    private static readonly Lazy<PostgresServer> SharedServer = new(() =>
    {
        var server = new PostgresServer();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Dispose();
        return server;
    });

    private readonly string _directory;
    private readonly string _data;
    private readonly string _log;
    private readonly string _superPasswordFile;
    private readonly bool _asPostgresUser;
    private int _databases;

    public string Host { get; } = "127.0.0.1";

    public int Port { get; }

    /// <summary>The file holding the password of <see cref="Role"/> (0600).</summary>
    public string PasswordFile { get; }

    public bool IsRunning { get; private set; }

    /// <summary>The one server of this test process, started at first use.</summary>
    public static PostgresServer Shared => SharedServer.Value;

    /// <summary>
    /// At the end of a test run: every pooled connection closed and the shared server stopped, when one
    /// was started — before the test host checks that nothing is left running, not at process exit.
    /// </summary>
    public static void StopShared()
    {
        if (!SharedServer.IsValueCreated) return;
        NpgsqlConnection.ClearAllPools();
        SharedServer.Value.Dispose();
    }

    /// <summary>Whether PostgreSQL 15 is installed (scripts/install-test-deps.sh installs it).</summary>
    public static bool IsInstalled => File.Exists(Path.Combine(BinDirectory, "initdb"));

    public PostgresServer()
    {
        if (!IsInstalled) throw new InvalidOperationException($"PostgreSQL 15 is not installed ({BinDirectory}); run scripts/install-test-deps.sh");
        _asPostgresUser = Environment.UserName == "root";
        _directory = Path.Combine(Path.GetTempPath(), "securemx-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_directory);
        _data = Path.Combine(_directory, "data");
        _log = Path.Combine(_directory, "server.log");
        _superPasswordFile = Path.Combine(_directory, "superuser.pw");
        PasswordFile = Path.Combine(_directory, "securemx.pw");
        File.WriteAllText(_superPasswordFile, RandomPassword() + "\n");
        File.SetUnixFileMode(_superPasswordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var password = RandomPassword();
        File.WriteAllText(PasswordFile, password + "\n");
        File.SetUnixFileMode(PasswordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        if (_asPostgresUser)
        {
            Run("chown", "postgres", _directory, _superPasswordFile);
            File.SetUnixFileMode(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }
        AsServerUser(Path.Combine(BinDirectory, "initdb"),
            $"-D {_data} -U postgres --auth-local=trust --auth-host=scram-sha-256 --pwfile={_superPasswordFile} --no-sync -E UTF8 --locale=C.UTF-8");
        Port = FreePort();
        Start();
        using var c = SuperConnection("postgres");
        c.Open();
        Exec(c, $"CREATE ROLE {Role} LOGIN PASSWORD '{password}'");
    }

    /// <summary>Starts the server (again, after <see cref="Stop"/>) on the same port, waiting until it accepts connections.</summary>
    public void Start()
    {
        AsServerUser(Path.Combine(BinDirectory, "pg_ctl"),
            $"-D {_data} -l {_log} -w -t 30 -o \"-h {Host} -p {Port} -k {_directory} -c fsync=off -c full_page_writes=off -c max_connections=300\" start");
        IsRunning = true;
    }

    /// <summary>Stops the server at once (no waiting for clients): what a crashed or unreachable database looks like to them.</summary>
    public void Stop()
    {
        if (!IsRunning) return;
        AsServerUser(Path.Combine(BinDirectory, "pg_ctl"), $"-D {_data} -m immediate -w stop");
        IsRunning = false;
    }

    /// <summary>A fresh, empty database owned by <see cref="Role"/>.</summary>
    public PostgresDatabase CreateDatabase(string prefix = "store")
    {
        var name = $"{prefix}_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid().ToString("N")[..8]}";
        using var c = SuperConnection("postgres");
        c.Open();
        Exec(c, $"CREATE DATABASE {name} OWNER {Role} STRATEGY FILE_COPY");
        return new PostgresDatabase($"postgresql://{Role}@{Host}:{Port}/{name}", PasswordFile, name);
    }

    /// <summary>Runs SQL as the superuser in <paramref name="database"/> (e.g. pg_terminate_backend to cut clients off).</summary>
    public void Execute(string database, string sql)
    {
        using var c = SuperConnection(database);
        c.Open();
        Exec(c, sql);
    }

    public void Dispose()
    {
        try
        {
            Stop();
        }
        catch (Exception)
        {
            // Best effort at process exit: the directory goes anyway.
        }
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    // The superuser over the cluster's own socket (trust), never over TCP.
    private NpgsqlConnection SuperConnection(string database) => new(new NpgsqlConnectionStringBuilder
    {
        Host = _directory,
        Port = Port,
        Username = "postgres",
        Database = database,
        Pooling = false,
    }.ToString());

    private static void Exec(NpgsqlConnection c, string sql)
    {
        using var cmd = new NpgsqlCommand(sql, c);
        cmd.ExecuteNonQuery();
    }

    // The command line goes through /bin/sh either way: paths here are temporary directories without quotes.
    private void AsServerUser(string program, string arguments)
    {
        if (_asPostgresUser) Run("su", "postgres", "-s", "/bin/sh", "-c", program + " " + arguments);
        else Run("/bin/sh", "-c", program + " " + arguments);
    }

    private void Run(string program, params string[] arguments)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot run {program}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            var log = File.Exists(_log) ? File.ReadAllText(_log) : "";
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} failed ({p.ExitCode}): {stderr}{stdout.Result}\n{log}");
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static string RandomPassword() => Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
}
