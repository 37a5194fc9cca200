using System.Text.Json.Nodes;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Submission;

/// <summary>
/// One running instance with both submission listeners, shared by tests that do not interfere: every
/// test uses its own token, and accounts whose passwords change or fail have their own mailbox. The
/// failure limits are set out of reach here (every client is 127.0.0.1); AuthThrottlingTests pins them.
/// </summary>
public sealed class SubmissionFixture : IAsyncLifetime
{
    /// <summary>auth.failureDelay of this instance: every 535 comes at least this late.</summary>
    public static readonly TimeSpan FailureDelay = TimeSpan.FromMilliseconds(300);

    public SecureMxInstance Mx { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Mx = await SecureMxInstance.CreateAsync("example.test",
            ["alice@example.test", "bob@example.test", "carol@example.test", "dave@example.test"], cfg =>
            {
                cfg["auth"] = new JsonObject { ["failureDelay"] = $"{FailureDelay.TotalMilliseconds}ms", ["maxFailuresPerIp"] = 1000, ["maxFailuresPerAccount"] = 1000 };
                // No resolver answers here: mail for remote domains stays queued (deferred), where the CLI can show it.
                cfg["dns"] = Net.Text(Net.FreeEndpoint());
            }, submission: true);
        await Mx.CliOk("alias", "add", "info@example.test", "alice@example.test");
        await Mx.CliOk("alias", "add", "sales@example.test", "bob@example.test");
        await Mx.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Mx is not null)
        {
            await Mx.StopAsync();
            await Mx.DisposeAsync();
        }
    }
}
