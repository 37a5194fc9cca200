using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Hosting;

/// <summary>
/// serve with the embedded store runs socket completions on the runtime's epoll threads (one per core), unless
/// the operator's DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS says otherwise; mail flows either way.
/// </summary>
public sealed class InlineSocketCompletionsTests
{
    private const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>The runtime's socket event threads of the process (named ".NET Sockets", one per engine).</summary>
    private static int SocketThreads(int pid) =>
        Directory.GetDirectories($"/proc/{pid}/task").Count(t => File.ReadAllText(Path.Combine(t, "comm")).Trim() == ".NET Sockets");

    [Fact]
    public async Task TheEmbeddedStoreRunsSocketCompletionsOnOneEventThreadPerCore()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"]);
        await mx.StartAsync();
        Assert.True((await SmtpProbe.SendAsync(mx.Mx, "a@outside.test", "alice@example.test", "inline-completions")).Acknowledged);
        await mx.WaitForMessageAsync("alice@example.test", "inline-completions");

        await mx.WaitForLogAsync($"socket completions run on the I/O threads ({Environment.ProcessorCount})");
        // Left to the thread pool the runtime keeps one event thread per 30 cores: on a machine of 2 or more
        // cores the count tells the modes apart.
        Assert.Equal(Environment.ProcessorCount, SocketThreads(mx.Pid));
    }

    [Fact]
    public async Task TheOperatorsZeroLeavesThemToTheThreadPool()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"]);
        mx.Environment[Variable] = "0";
        await mx.StartAsync();
        Assert.True((await SmtpProbe.SendAsync(mx.Mx, "a@outside.test", "alice@example.test", "pool-completions")).Acknowledged);
        await mx.WaitForMessageAsync("alice@example.test", "pool-completions");

        await mx.WaitForLogAsync($"socket completions go to the thread pool ({Variable}=0, set by the environment)");
        Assert.Equal(Math.Max(1, (int)Math.Round(Environment.ProcessorCount / 30.0)), SocketThreads(mx.Pid));
    }
}
