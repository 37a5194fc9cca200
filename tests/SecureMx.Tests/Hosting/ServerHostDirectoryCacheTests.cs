using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SecureMx.Cli;
using SecureMx.Config;
using SecureMx.Hosting;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Hosting;

/// <summary>
/// `serve` as ServerHost wires it: with a PostgreSQL store the repositories read through a directory
/// cache whose service starts before every other one (the first snapshot before any listener
/// opens); with the embedded SQLite store there is no cache at all.
/// </summary>
public sealed class ServerHostDirectoryCacheTests
{
    private static (IHost Host, StoreDatabase Store) Build(TempDirectory dir, StoreOptions? store)
    {
        var data = dir.Combine("instance");
        InitCommand.Run(data, "mx.example.test", "off", "off", "off", "off", "off", null, null, null);
        var options = ConfigLoader.Load(data);
        if (store is not null) options.Store = store;
        var host = ServerHost.Build(data, options, TimeProvider.System);
        return (host, host.Services.GetRequiredService<StoreDatabase>());
    }

    [Fact]
    public async Task WithAPostgresStoreTheDirectoryCacheStartsFirstAndTheRepositoriesReadThroughIt()
    {
        using var dir = new TempDirectory();
        var (host, store) = Build(dir, TestStore.NewPostgresStore());
        using (host)
        {
            var cache = host.Services.GetService<DirectoryCache>();
            Assert.NotNull(cache);
            var first = host.Services.GetServices<IHostedService>().First();
            Assert.IsType<DirectoryCacheService>(first);
            await first.StartAsync(CancellationToken.None);
            try
            {
                Assert.NotNull(cache.Current); // loaded before start returned
                // A change through the server's own repository is read back at once, and through the cache after the reload.
                var mailboxes = host.Services.GetRequiredService<MailboxRepository>();
                mailboxes.AddDomain("wired.example");
                Assert.True(mailboxes.IsHosted("wired.example"));
                Assert.True(await cache.ReloadAsync());
                Assert.True(cache.Current!.Value.Snapshot.IsHosted("wired.example"));
            }
            finally
            {
                await first.StopAsync(CancellationToken.None);
                store.ReleasePooledConnections();
            }
        }
    }

    [Fact]
    public void WithTheSqliteStoreThereIsNoCache()
    {
        using var dir = new TempDirectory();
        var (host, store) = Build(dir, null);
        using (host)
        {
            Assert.Null(host.Services.GetService<DirectoryCache>());
            Assert.DoesNotContain(host.Services.GetServices<IHostedService>(), s => s is DirectoryCacheService);
            store.ReleasePooledConnections();
        }
    }
}
