using Microsoft.Extensions.Hosting;
using SecureMx.Smtp;

namespace SecureMx.Hosting;

/// <summary>
/// Once the server has started: one compacting full collection with decommit (<see cref="SessionBurstTrim.CompactAndDecommit"/>),
/// off the start-up path. Start-up leaves garbage that only a full collection frees, and an idle server may not run one
/// for hours: above all the 19 MiB working memory of the Argon2id hash <see cref="Auth.AccountAuthenticator"/> makes at
/// start (its dummy hash), which stayed resident — 20 of the 110 MB of an idle server, found in a heap dump.
/// </summary>
public sealed class StartupTrim(IHostApplicationLifetime lifetime, Action? trim = null) : IHostedService
{
    private readonly Action _trim = trim ?? SessionBurstTrim.CompactAndDecommit;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(() => ThreadPool.UnsafeQueueUserWorkItem(static t => t(), _trim, preferLocal: false));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
