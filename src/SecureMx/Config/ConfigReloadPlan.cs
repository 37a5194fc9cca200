using System.Text.Json;

namespace SecureMx.Config;

/// <summary>One key of securemx.json whose value differs between the running configuration and the file.</summary>
/// <param name="Key">Dotted and camel-cased as in the file and docs/CONFIGURATION.md, e.g. limits.maxRecipients.</param>
/// <param name="Reloadable">Takes effect at a reload (SIGHUP); otherwise only after a restart.</param>
public sealed record ConfigChange(string Key, string Old, string New, bool Reloadable);

/// <summary>
/// What a reload (SIGHUP) may change in the running server, decided between the running options and
/// a freshly loaded and validated file. Reloadable are the keys read anew by each new session or use,
/// replaced as a whole section so that no session ever sees half of the old and half of the new values:
/// <c>limits.*</c> (per-session limits and timeouts: an SMTP session takes the section once, as it
/// starts, and keeps it to its end) and <c>queue.*</c> (retry schedule, delay
/// warning, expiry). Everything else is bound when the server starts — listener addresses and
/// sockets, the certificate paths, the connection limiter, the free-space guard, the shutdown grace,
/// the resolver, delivery concurrency and routing, the store and the dashboard — and needs a restart;
/// a reload reports such a change and leaves the running value alone.
/// </summary>
public sealed class ConfigReloadPlan
{
    /// <summary>The limits read once at start (the connection limiter, the free-space guard, the host's stop timeout).</summary>
    public static readonly IReadOnlySet<string> RestartOnlyLimits = new HashSet<string>(StringComparer.Ordinal)
    {
        "limits.maxConnections", "limits.maxConnectionsPerIp", "limits.minFreeDiskMb", "limits.shutdownGraceSeconds",
    };

    private ConfigReloadPlan(IReadOnlyList<ConfigChange> changes, LimitOptions limits, QueueOptions queue)
    {
        Changes = changes;
        Limits = limits;
        Queue = queue;
    }

    /// <summary>Every key that differs, reloadable or not, in the file's order.</summary>
    public IReadOnlyList<ConfigChange> Changes { get; }

    /// <summary>The changes a reload applies.</summary>
    public IEnumerable<ConfigChange> Applied => Changes.Where(c => c.Reloadable);

    /// <summary>The changes that wait for a restart.</summary>
    public IEnumerable<ConfigChange> NeedRestart => Changes.Where(c => !c.Reloadable);

    /// <summary>The limits to run with: the new ones, except the restart-only keys, which keep their running values.</summary>
    public LimitOptions Limits { get; }

    /// <summary>The queue's time rules to run with (all of queue.* is reloadable).</summary>
    public QueueOptions Queue { get; }

    public static bool IsReloadable(string key) =>
        (key.StartsWith("limits.", StringComparison.Ordinal) && !RestartOnlyLimits.Contains(key))
        || key.StartsWith("queue.", StringComparison.Ordinal);

    /// <param name="running">The options the server runs with now.</param>
    /// <param name="next">The options just loaded from the file (already validated by <see cref="ConfigLoader.Load"/>).</param>
    public static ConfigReloadPlan Between(SecureMxOptions running, SecureMxOptions next)
    {
        var before = Flatten(running).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        var after = Flatten(next);
        var changes = new List<ConfigChange>();
        foreach (var (key, value) in after)
        {
            var old = before.GetValueOrDefault(key, "");
            if (old != value) changes.Add(new ConfigChange(key, old, value, IsReloadable(key)));
        }
        var limits = Clone(next.Limits);
        limits.MaxConnections = running.Limits.MaxConnections;
        limits.MaxConnectionsPerIp = running.Limits.MaxConnectionsPerIp;
        limits.MinFreeDiskMb = running.Limits.MinFreeDiskMb;
        limits.ShutdownGraceSeconds = running.Limits.ShutdownGraceSeconds;
        return new ConfigReloadPlan(changes, limits, Clone(next.Queue));
    }

    private static T Clone<T>(T value) => JsonSerializer.Deserialize<T>(JsonSerializer.SerializeToUtf8Bytes(value, ConfigLoader.Json), ConfigLoader.Json)!;

    /// <summary>Every leaf of the options as "section.key" → its JSON text, in the file's order.</summary>
    private static List<KeyValuePair<string, string>> Flatten(SecureMxOptions options)
    {
        var leaves = new List<KeyValuePair<string, string>>();
        void Walk(string prefix, JsonElement e)
        {
            if (e.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in e.EnumerateObject()) Walk(prefix.Length == 0 ? p.Name : $"{prefix}.{p.Name}", p.Value);
            }
            else
            {
                leaves.Add(new(prefix, e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText()));
            }
        }
        Walk("", JsonSerializer.SerializeToElement(options, ConfigLoader.Json));
        return leaves;
    }
}
