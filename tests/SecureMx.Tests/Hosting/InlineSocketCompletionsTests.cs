using SecureMx.Config;
using SecureMx.Hosting;

namespace SecureMx.Tests.Hosting;

/// <summary>
/// Which way `serve` lets the runtime run socket completions: inline on the embedded store, on the thread
/// pool with a shared store, and always as the operator's own DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS says.
/// The variable is this process's: each case puts back what was there (the cases of one class run one at a time).
/// </summary>
public sealed class InlineSocketCompletionsTests
{
    private static SecureMxOptions Embedded() => new();

    private static SecureMxOptions Shared() => new() { Store = new StoreOptions { ConnectionString = "Host=127.0.0.1;Database=securemx" } };

    private static void With(string? value, Action act)
    {
        var before = Environment.GetEnvironmentVariable(InlineSocketCompletions.Variable);
        Environment.SetEnvironmentVariable(InlineSocketCompletions.Variable, value);
        try
        {
            act();
        }
        finally
        {
            Environment.SetEnvironmentVariable(InlineSocketCompletions.Variable, before);
        }
    }

    [Fact]
    public void TheEmbeddedStoreRunsThemInline() => With(null, () =>
    {
        Assert.True(InlineSocketCompletions.Configure(Embedded()));
        Assert.Equal("1", Environment.GetEnvironmentVariable(InlineSocketCompletions.Variable));
        Assert.StartsWith("socket completions run on the I/O threads", InlineSocketCompletions.Decision);
    });

    [Fact]
    public void ASharedStoreLeavesThemToTheThreadPool() => With(null, () =>
    {
        Assert.False(InlineSocketCompletions.Configure(Shared()));
        Assert.Null(Environment.GetEnvironmentVariable(InlineSocketCompletions.Variable));
        Assert.Contains("thread pool", InlineSocketCompletions.Decision);
    });

    [Theory]
    [InlineData("0", false)]
    [InlineData("1", true)]
    public void TheOperatorsSettingIsKept(string value, bool inline) => With(value, () =>
    {
        Assert.Equal(inline, InlineSocketCompletions.Configure(Embedded()));
        Assert.Equal(inline, InlineSocketCompletions.Configure(Shared()));
        Assert.Equal(value, Environment.GetEnvironmentVariable(InlineSocketCompletions.Variable));
        Assert.Contains($"{InlineSocketCompletions.Variable}={value}, set by the environment", InlineSocketCompletions.Decision);
    });
}
