using System.CommandLine;
using Microsoft.Extensions.Hosting;
using SecureMx.Hosting;

namespace SecureMx.Cli;

/// <summary>securemx serve: all listeners and the queue in one process until SIGTERM/SIGINT.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var data = CliOptions.Data();
        var metrics = new Option<string?>("--metrics") { Description = "serve /metrics and /health on ADDR:PORT (plain HTTP; loopback recommended), or off; overrides listeners.metrics", HelpName = "ADDR:PORT" };
        var mtaSts = new Option<string?>("--mta-sts") { Description = "serve the hosted domains' MTA-STS policies over HTTPS on ADDR:PORT, or off; overrides listeners.mtaSts", HelpName = "ADDR:PORT" };
        var cmd = new Command("serve", "run the listeners and the queue until SIGTERM or SIGINT; SIGHUP reloads the certificate and securemx.json") { data, metrics, mtaSts };
        cmd.TreatUnmatchedTokensAsErrors = false; // --section:key=value overrides for securemx.json
        cmd.SetAction(async (p, ct) =>
        {
            // SIGHUP handled from the first moment: one during start-up is queued (systemd may reload early).
            using var reloadSignal = new ReloadSignalService();
            var dir = CliOptions.RequireData(p.GetValue(data)!);
            // --metrics and --mta-sts are the overrides --listeners:metrics=VALUE and --listeners:mtaSts=VALUE, validated with the
            // rest of the configuration (and kept by a reload).
            string[] overrides = [.. p.UnmatchedTokens,
                .. p.GetValue(metrics) is { } metricsEndpoint ? [$"--listeners:metrics={metricsEndpoint}"] : Array.Empty<string>(),
                .. p.GetValue(mtaSts) is { } mtaStsEndpoint ? [$"--listeners:mtaSts={mtaStsEndpoint}"] : Array.Empty<string>()];
            var options = CliOptions.LoadConfig(dir, overrides);
            CliOptions.MailFileAccess(options); // a mail group this user may not give files to stops the start, not the first delivery
            InlineSocketCompletions.Configure(options); // before the first socket
            ThreadPoolHeadroom.Configure(options);
            // One server per instance: a second one would clean up the first one's transfers in progress at start-up.
            using var instanceLock = Spool.SafeIo.TryLockExclusive(Path.Combine(dir, "spool", "serve.lock"))
                ?? throw new CliException($"another 'securemx serve' is already running on {dir}");
            // A certificate installed for the next key (a deploy hook, or tls rollover) retires the next-key files (RFC 7671 §8.1).
            if (TlsKeyRollover.RetireAtStart(dir, options) is { } retired) Console.Error.WriteLine("securemx: " + retired);
            using var host = ServerHost.Build(dir, options, TimeProvider.System, overrides, reloadSignal);
            try
            {
                // Not RunAsync: it disposes the host, whose services say below whether one of them stopped it.
                await host.StartAsync(CancellationToken.None);
                await host.WaitForShutdownAsync(CancellationToken.None);
            }
            catch (Smtp.ListenerStartException ex)
            {
                throw new CliException(ex.Message);
            }
            catch (Store.StoreException ex)
            {
                throw new CliException(ex.Message); // node.name held by another live node (NodeService)
            }
            // The host stopped because a part of it failed, not on a signal: exit 1, so that the service manager starts it again.
            if (BackgroundServiceFailure.Of(host) is { } failure)
                throw new CliException($"stopped because {failure.Service} failed: {failure.Error.Message}");
            return 0;
        });
        return cmd;
    }
}
