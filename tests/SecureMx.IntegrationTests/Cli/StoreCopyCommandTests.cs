using System.Text.Json.Nodes;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Cli;

/// <summary>
/// securemx store copy: a single box's SQLite store into the tests' private PostgreSQL, then the instance
/// switched to it serves the same accounts; a second copy, a running server, an unreachable server and a
/// target that is not PostgreSQL are refused.
/// </summary>
public sealed class StoreCopyCommandTests
{
    [Fact]
    public async Task ASingleBoxCopiedIntoPostgreSqlServesTheSameAccountsFromThere()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test", "bob@example.test"]);
        await mx.CliOk("alias", "add", "info@example.test", "alice@example.test");
        await mx.CliOk("policy", "inbound", "example.test", "mandatory");
        await mx.CliOk("admin", "add", "alice@example.test");
        var before = await ListingsAsync(mx);
        var target = PostgresServer.Shared.CreateDatabase();

        var copy = await mx.Cli("store", "copy", "--to", target.ConnectionString, "--password-file", target.PasswordFile);

        Assert.True(copy.ExitCode == 0, copy.All);
        Assert.Contains("  domains: 1 row(s)\n", copy.StdOut);
        Assert.Contains("  mailboxes: 2 row(s)\n", copy.StdOut);
        Assert.Contains("  aliases: 1 row(s)\n", copy.StdOut);
        Assert.Contains("  system_admins: 1 row(s)\n", copy.StdOut);
        Assert.Contains("  not copied: dashboard_sessions (", copy.StdOut);
        Assert.Contains("next: set store.connectionString", copy.StdOut);

        var again = await mx.Cli("store", "copy", "--to", target.ConnectionString, "--password-file", target.PasswordFile);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("not empty (domains: 1, mailboxes: 2, aliases: 1", again.StdErr);

        var cfgPath = Path.Combine(mx.DataDir, "securemx.json");
        var cfg = JsonNode.Parse(await File.ReadAllTextAsync(cfgPath))!.AsObject();
        cfg["store"] = new JsonObject { ["connectionString"] = target.ConnectionString, ["passwordFile"] = target.PasswordFile };
        await File.WriteAllTextAsync(cfgPath, cfg.ToJsonString());
        Assert.Equal(before, await ListingsAsync(mx));

        var fromShared = await mx.Cli("store", "copy", "--to", target.ConnectionString, "--password-file", target.PasswordFile);
        Assert.Equal(1, fromShared.ExitCode);
        Assert.Contains("already uses the shared store", fromShared.StdErr);
    }

    [Fact]
    public async Task ACopyIsRefusedWhileServeRunsOnTheInstance()
    {
        await using var mx = await SecureMxInstance.CreateAsync();
        await mx.StartAsync();
        var r = await mx.Cli("store", "copy", "--to", "postgresql://securemx@127.0.0.1:1/securemx");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("a 'securemx serve' is running", r.StdErr);
    }

    [Fact]
    public async Task AnUnreachablePostgreSqlOrATargetThatIsNotPostgreSqlFailsInOneLine()
    {
        await using var mx = await SecureMxInstance.CreateAsync();
        var closed = Net.FreeEndpoint();
        var gone = await mx.Cli("store", "copy", "--to", $"postgresql://securemx@127.0.0.1:{closed.Port}/securemx");
        Assert.Equal(1, gone.ExitCode);
        Assert.StartsWith("securemx: the store is unreachable: ", gone.StdErr);
        Assert.Single(gone.StdErr.TrimEnd('\n').Split('\n'));

        var sqlite = await mx.Cli("store", "copy", "--to", "/tmp/other.db");
        Assert.Equal(1, sqlite.ExitCode);
        Assert.Contains("--to takes postgresql://USER@HOST:PORT/DB", sqlite.StdErr);
    }

    private static async Task<string> ListingsAsync(SecureMxInstance mx)
    {
        var text = "";
        foreach (var args in new[] { new[] { "domain", "list" }, ["mailbox", "list"], ["alias", "list"], ["admin", "list"], ["policy", "show", "example.test"] })
        {
            var r = await mx.Cli(args);
            Assert.True(r.ExitCode == 0, r.All);
            text += r.StdOut;
        }
        return text;
    }
}
