using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Queue;
using SecureMx.Tls;

namespace SecureMx.Hosting;

/// <summary>
/// A reload of the running server (SIGHUP, <c>systemctl reload securemx</c>): the certificate pair
/// and the reloadable part of securemx.json (<see cref="ConfigReloadPlan"/>). The two are judged
/// apart, each all or nothing: a pair that cannot be used, or a file that does not load or validate,
/// is refused with one log line and the server goes on with what it had. Connections stay open.
/// </summary>
public sealed class InstanceReloader(
    string dataDirectory,
    string[] overrides,
    SecureMxOptions running,
    ServerCertificateSource certificates,
    Action<QueueTimeRules> useQueueRules,
    ILogger log)
{
    private readonly object _gate = new();

    /// <summary>Reloads both; <paramref name="trigger"/> names the cause in the log ("SIGHUP").</summary>
    public InstanceReloadResult Reload(string trigger)
    {
        lock (_gate) // two quick SIGHUPs run one after the other, never interleaved
        {
            log.LogInformation("reload ({Trigger}): reading the certificate and {File}", trigger, ConfigLoader.FileName);
            var certificate = certificates.Reload();
            CertificateReloadLog.Write(log, certificate, certificates, trigger);
            return new InstanceReloadResult(certificate, ReloadConfiguration(trigger));
        }
    }

    private ConfigReloadOutcome ReloadConfiguration(string trigger)
    {
        SecureMxOptions next;
        ConfigReloadPlan plan;
        QueueTimeRules rules;
        try
        {
            next = ConfigLoader.Load(dataDirectory, overrides);
            plan = ConfigReloadPlan.Between(running, next);
            rules = new QueueTimeRules(plan.Queue);
        }
        catch (Exception ex) when (ex is ConfigException or FormatException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            log.LogError("reload ({Trigger}): {File} refused, the server keeps running with the previous configuration: {Reason}",
                trigger, ConfigLoader.FileName, ex.Message);
            return ConfigReloadOutcome.Refused;
        }
        // Everything that can fail has run: from here on only whole sections are swapped, each in one step.
        running.Limits = plan.Limits;
        running.Queue = plan.Queue;
        useQueueRules(rules);
        foreach (var c in plan.Applied)
            log.LogInformation("reload ({Trigger}): {Key} changed from {Old} to {New}", trigger, c.Key, c.Old, c.New);
        foreach (var c in plan.NeedRestart)
            log.LogWarning("reload ({Trigger}): {Key} changed from {Old} to {New} in {File}; this takes effect only after a restart (listener addresses, certificate paths, connection limits and the other keys read at start)",
                trigger, c.Key, c.Old, c.New, ConfigLoader.FileName);
        if (!plan.Changes.Any()) log.LogInformation("reload ({Trigger}): {File} unchanged", trigger, ConfigLoader.FileName);
        return plan.NeedRestart.Any() ? ConfigReloadOutcome.AppliedRestartPending : plan.Applied.Any() ? ConfigReloadOutcome.Applied : ConfigReloadOutcome.Unchanged;
    }
}

/// <summary>What one reload did to the certificate pair and to the configuration.</summary>
public sealed record InstanceReloadResult(CertificateReload Certificate, ConfigReloadOutcome Configuration);

public enum ConfigReloadOutcome
{
    /// <summary>The file equals the running configuration.</summary>
    Unchanged,
    /// <summary>Reloadable keys changed and are in use now.</summary>
    Applied,
    /// <summary>Reloadable keys (if any) are in use; other keys changed that wait for a restart.</summary>
    AppliedRestartPending,
    /// <summary>The file did not load or validate; nothing changed.</summary>
    Refused,
}
