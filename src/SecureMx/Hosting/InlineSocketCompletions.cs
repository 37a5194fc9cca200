using SecureMx.Config;

namespace SecureMx.Hosting;

/// <summary>
/// Whether socket completions run on the runtime's epoll threads (DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1;
/// the runtime then keeps one epoll thread per core) instead of each being handed to the thread pool. The
/// hand-off is a wake-up and a context switch for every SMTP command: inline, a session's commands run
/// where their bytes arrive (issue 18's benchmark: 1 session +11 %, 20 sessions +8 %, 100 sessions +23 %).
/// The price: what a session does between two reads holds its epoll thread, and every
/// socket of that thread waits. Nothing on the SMTP path may block there — a password hash runs on the
/// thread pool (<see cref="Auth.AccountAuthenticator"/>), fsyncs are handed off (<see cref="Spool.DurableFile.SyncAsync"/>),
/// certificate chains are built without downloads (<see cref="Tls.PkixTrust"/>), logs are written behind.
/// With a shared store (PostgreSQL) a lookup the node's cache cannot answer waits for the network,
/// up to the store's timeout: there completions stay on the thread pool.
/// </summary>
public static class InlineSocketCompletions
{
    public const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>What <see cref="Configure"/> decided, for the start-up log; null before it ran.</summary>
    public static string? Decision { get; private set; }

    /// <summary>
    /// Sets the variable for this process unless the operator has set it. Must run before the process's
    /// first socket operation: the runtime reads it once. Returns whether completions run inline.
    /// </summary>
    public static bool Configure(SecureMxOptions options)
    {
        var set = Environment.GetEnvironmentVariable(Variable);
        bool inline;
        if (set is not null)
        {
            inline = set == "1";
            Decision = $"socket completions {(inline ? "run on the I/O threads" : "go to the thread pool")} ({Variable}={set}, set by the environment)";
        }
        else if (options.Store.IsShared)
        {
            inline = false;
            Decision = "socket completions go to the thread pool: with the shared store a lookup may wait for PostgreSQL";
        }
        else
        {
            inline = true;
            Environment.SetEnvironmentVariable(Variable, "1");
            Decision = $"socket completions run on the I/O threads ({Environment.ProcessorCount})";
        }
        return inline;
    }
}
