using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Npgsql;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Cluster;

/// <summary>
/// Three SecureMx nodes A, B, C sharing one database of the test process's private PostgreSQL 15
/// (<see cref="PostgresServer.Shared"/>), the nodes on 127.0.23: A on .11, B on .12, C on .13, each with
/// its MX listener on port 25 and its dashboard on 20443. A created the store's content with its CLI:
/// the domain <see cref="Domain"/> with alice and root (system administrator), and
/// <see cref="SecureDomain"/> with user (the inbound-mandatory tests switch it). A and B deliver into
/// their own Maildirs; C delivers through LMTP to <see cref="Lmtp"/>, where nothing listens until a
/// test starts an <see cref="LmtpSink"/> there, so mail C accepts waits in C's queue (retried every second).
/// B and C run with A's dashboard key file, copied after A started.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const string Domain = "cluster.test";
    public const string SecureDomain = "secure.test";
    public const string Alice = "alice@" + Domain;
    public const string Root = "root@" + Domain;
    public const string SecureUser = "user@" + SecureDomain;
    public const string Password = "password123";
    private const string DashboardKeyFile = "dashboard-keys.key";

    public static readonly IPEndPoint Lmtp = new(IPAddress.Parse("127.0.23.14"), 24);

    public PostgresServer Postgres => PostgresServer.Shared;
    public PostgresDatabase Database { get; private set; } = null!;
    public SecureMxInstance A { get; private set; } = null!;
    public SecureMxInstance B { get; private set; } = null!;
    public SecureMxInstance C { get; private set; } = null!;

    public IEnumerable<SecureMxInstance> Nodes => new[] { A, B, C }.Where(n => n is not null);

    public async ValueTask InitializeAsync()
    {
        Database = await Task.Run(() => Postgres.CreateDatabase("cluster"));
        // A first: its init migrates the empty database, its CLI fills it; B and C join what is there.
        A = await NodeAsync("a", 11, hostDomain: true, mailboxes: [Alice, Root]);
        await A.CliOk("admin", "add", Root);
        await A.CliOk("domain", "add", SecureDomain);
        var add = await Run.SecureMxWithStdinAsync(Password + "\n", "mailbox", "add", SecureUser, "--password-stdin", "--data", A.DataDir);
        Assert.True(add.ExitCode == 0, add.All);
        B = await NodeAsync("b", 12, hostDomain: false);
        C = await NodeAsync("c", 13, hostDomain: false, cfg =>
        {
            cfg["delivery"]!["lmtp"] = Net.Text(Lmtp);
            cfg["delivery"]!["localRetrySeconds"] = 1;
        });
        // As README "Running several nodes" says: the first node runs, the others get its dashboard key
        // file (it decrypts the dashboard's key ring in the store), then they start.
        await A.StartAsync();
        foreach (var node in new[] { B, C })
        {
            var key = Path.Combine(node.DataDir, DashboardKeyFile);
            File.Copy(Path.Combine(A.DataDir, DashboardKeyFile), key, overwrite: true);
            File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        await Task.WhenAll(B.StartAsync(), C.StartAsync());
    }

    private async Task<SecureMxInstance> NodeAsync(string name, int host, bool hostDomain, Action<JsonObject>? configure = null, string[]? mailboxes = null)
    {
        var address = IPAddress.Parse($"127.0.23.{host}");
        return await SecureMxInstance.CreateAsync(Domain, mailboxes,
            cfg =>
            {
                // Every test talks to the dashboards from 127.0.0.1 and logs in more than once.
                cfg["dashboard"]!["loginAttemptsPerMinute"] = 100;
                configure?.Invoke(cfg);
            },
            hostname: $"{name}.{Domain}", mx: new IPEndPoint(address, 25), dashboard: new IPEndPoint(address, 20443),
            store: new SharedStore(Database.ConnectionString, Database.PasswordFile, name, hostDomain));
    }

    /// <summary>The first column of the first row of <paramref name="sql"/> in the cluster's database, as text.</summary>
    public async Task<string> ScalarAsync(string sql)
    {
        var uri = new Uri(Database.ConnectionString);
        var connectionString = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.Port,
            Username = PostgresServer.Role,
            Password = File.ReadAllText(Database.PasswordFile).Trim(),
            Database = Database.Name,
            Pooling = false,
            Timeout = 5,
        }.ToString();
        await using var c = new NpgsqlConnection(connectionString);
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        return Convert.ToString(await cmd.ExecuteScalarAsync(), CultureInfo.InvariantCulture) ?? "";
    }

    /// <summary>Every node's log, for a failure message.</summary>
    public string Logs => string.Join("\n", Nodes.Select(n => $"--- {n.Hostname}:\n{n.Log}"));

    public async ValueTask DisposeAsync()
    {
        if (!Postgres.IsRunning) Postgres.Start();
        foreach (var node in Nodes)
        {
            try { await node.StopAsync(); } catch (Exception) { }
            await node.DisposeAsync();
        }
    }
}
