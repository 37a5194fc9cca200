using Microsoft.Extensions.Hosting;
using SecureMx.Hosting;

namespace SecureMx.Tests.Hosting;

public class StartupTrimTests
{
    private sealed class Lifetime : IHostApplicationLifetime
    {
        public CancellationTokenSource Started { get; } = new();
        public CancellationToken ApplicationStarted => Started.Token;
        public CancellationToken ApplicationStopping => CancellationToken.None;
        public CancellationToken ApplicationStopped => CancellationToken.None;
        public void StopApplication() { }
    }

    [Fact]
    public async Task The_trim_runs_once_after_the_host_has_started_not_during_start_up()
    {
        var lifetime = new Lifetime();
        int runs = 0;
        var ran = new TaskCompletionSource();
        var trim = new StartupTrim(lifetime, () => { Interlocked.Increment(ref runs); ran.TrySetResult(); });
        await trim.StartAsync(CancellationToken.None);
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.Equal(0, runs);
        await lifetime.Started.CancelAsync();
        await ran.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.Equal(1, runs);
        await trim.StopAsync(CancellationToken.None);
    }
}
