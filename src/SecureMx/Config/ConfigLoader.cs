using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration;
using SecureMx.Mail;
using SecureMx.Tls;

namespace SecureMx.Config;

/// <summary>Raised for a configuration an operator must fix; the CLI prints the message and exits non-zero.</summary>
public sealed class ConfigException(string message) : Exception(message);

/// <summary>Reads, validates and writes <c>DIR/securemx.json</c>.</summary>
public static class ConfigLoader
{
    public const string FileName = "securemx.json";

    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        // Operators read and edit this file: keep "+" and non-ASCII readable.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Loads the file, then environment (SECUREMX__KEY__SUB) and command-line overrides, and validates.</summary>
    public static SecureMxOptions Load(string dataDirectory, string[]? overrides = null)
    {
        var options = Bind(dataDirectory, overrides);
        Validate(options, dataDirectory);
        return options;
    }

    /// <summary>Only the store's options, checked on their own (the CLI's store commands need nothing else).</summary>
    public static StoreOptions ReadStoreOptions(string dataDirectory)
    {
        var store = Bind(dataDirectory, null).Store;
        if (store.IsShared)
        {
            try { PostgresUri.Parse(store.ConnectionString); } catch (FormatException ex) { throw new ConfigException("invalid configuration:\n  " + ex.Message); }
        }
        return store;
    }

    private static SecureMxOptions Bind(string dataDirectory, string[]? overrides)
    {
        var file = Path.Combine(dataDirectory, FileName);
        if (!File.Exists(file)) throw new ConfigException($"{file} not found: create the instance with 'securemx init --data {dataDirectory} --hostname NAME'");
        IConfigurationRoot root;
        try
        {
            root = new ConfigurationBuilder()
                .AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false)
                .AddEnvironmentVariables("SECUREMX__")
                .AddCommandLine(overrides ?? [])
                .Build();
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or JsonException)
        {
            throw new ConfigException($"{file}: {ex.Message}");
        }
        var options = new SecureMxOptions();
        try
        {
            root.Bind(options, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException ex)
        {
            throw new ConfigException($"{file}: {ex.Message}");
        }
        return options;
    }

    public static void Validate(SecureMxOptions o, string dataDirectory)
    {
        var errors = new List<string>();
        if (!HostnameRules.IsValid(o.Hostname)) errors.Add($"hostname: '{o.Hostname}' is not a valid host name");
        if (o.SecureMxHostname.Length > 0 && !HostnameRules.IsValid(o.SecureMxHostname)) errors.Add($"secureMxHostname: '{o.SecureMxHostname}' is not a valid host name");
        void Ep(string key, string value)
        {
            try { Endpoint.Parse(value, key); } catch (FormatException ex) { errors.Add(ex.Message); }
        }
        foreach (var (listener, endpoint) in ListenerEndpoints.All(o.Listeners)) Ep(listener, endpoint);
        if (Endpoint.TryParseQuiet(o.Listeners.DovecotPolicy) is { } pep && !System.Net.IPAddress.IsLoopback(pep.Address))
            errors.Add($"listeners.dovecotPolicy: only on a loopback address (it is {o.Listeners.DovecotPolicy}); Dovecot runs on the same machine and the endpoint speaks plain HTTP");
        if (string.Equals(o.Dns, Endpoint.Off, StringComparison.OrdinalIgnoreCase)) errors.Add("dns: a resolver is required");
        else Ep("dns", o.Dns);
        try { TlsProfile.Parse(o.Tls.MxProfile); } catch (ArgumentException ex) { errors.Add("tls.mxProfile: " + ex.Message); }
        var cert = ResolvePath(dataDirectory, o.Tls.Certificate);
        var key = ResolvePath(dataDirectory, o.Tls.Key);
        if (!File.Exists(cert)) errors.Add($"tls.certificate: {cert} not found");
        if (!File.Exists(key)) errors.Add($"tls.key: {key} not found");
        var l = o.Limits;
        if (l.MaxMessageSize < 1024) errors.Add("limits.maxMessageSize: at least 1024");
        if (l.MaxRecipients < 1) errors.Add("limits.maxRecipients: at least 1");
        if (l.MaxConnections < 1) errors.Add("limits.maxConnections: at least 1");
        if (l.MaxConnectionsPerIp < 1) errors.Add("limits.maxConnectionsPerIp: at least 1");
        if (l.MaxCommandLineLength < 512) errors.Add("limits.maxCommandLineLength: at least 512 (RFC 5321 4.5.3.1.4)");
        if (l.CommandTimeoutSeconds < 1 || l.DataTimeoutSeconds < 1 || l.TlsHandshakeTimeoutSeconds < 1 || l.TlsClientHelloTimeoutSeconds < 1) errors.Add("limits: timeouts must be at least 1 second");
        if (l.MaxErrors < 1) errors.Add("limits.maxErrors: at least 1");
        if (l.MaxTransferSeconds < 0) errors.Add("limits.maxTransferSeconds: not negative (0: no limit)");
        if (l.MinTransferBytesPerSecond < 0) errors.Add("limits.minTransferBytesPerSecond: not negative (0: no minimum)");
        if (l.ShutdownGraceSeconds < 0) errors.Add("limits.shutdownGraceSeconds: not negative");
        if (l.MinFreeDiskMb < 0) errors.Add("limits.minFreeDiskMb: not negative (0 turns the free-space guard off)");
        errors.AddRange(SourceAddressRules.Check(o.Delivery));
        errors.AddRange(ListenerEndpoints.DualStackConflicts(o.Listeners));
        if (o.Delivery.SmtpPort is < 1 or > 65535) errors.Add("delivery.smtpPort: 1 to 65535");
        if (o.Delivery.ConnectTimeoutSeconds < 1 || o.Delivery.TransactionTimeoutSeconds < 1) errors.Add("delivery: timeouts must be at least 1 second");
        if (o.Delivery.TrustAnchorsFile.Length > 0 && ResolvePath(dataDirectory, o.Delivery.TrustAnchorsFile) is var anchors && !File.Exists(anchors))
            errors.Add($"delivery.trustAnchorsFile: {anchors} not found");
        if (o.MtaSts.FetchTimeoutSeconds is < 1 or > 600) errors.Add("mtaSts.fetchTimeoutSeconds: 1 to 600");
        if (o.InboundAuthentication.TimeBudgetSeconds is < 1 or > 60) errors.Add("inboundAuthentication.timeBudgetSeconds: 1 to 60");
        if (o.MtaSts.PolicyPort is < 1 or > 65535) errors.Add("mtaSts.policyPort: 1 to 65535");
        if (o.TlsReporting.MaxReportBytes is < 1024 or > 1L << 30) errors.Add("tlsReporting.maxReportBytes: 1024 to 1073741824");
        // At most 1 GiB: the JSON is decompressed into one MemoryStream, which cannot hold 2 GiB (it would throw, not refuse).
        if (o.TlsReporting.MaxReportJsonBytes < o.TlsReporting.MaxReportBytes || o.TlsReporting.MaxReportJsonBytes > 1L << 30)
            errors.Add("tlsReporting.maxReportJsonBytes: at least tlsReporting.maxReportBytes, at most 1073741824");
        if (o.TlsReporting.ReportAddress.Replace("{domain}", "example.org").Split('@') is not [{ Length: > 0 }, { Length: > 0 }])
            errors.Add($"tlsReporting.reportAddress: '{o.TlsReporting.ReportAddress}' is not an address (\"{{domain}}\" stands for each hosted domain)");
        if (o.Delivery.RemoteConcurrency < 1 || o.Delivery.DestinationConcurrency < 1) errors.Add("delivery: concurrency limits must be at least 1");
        if (o.Delivery.ConnectionReuseLimit < 1) errors.Add("delivery.connectionReuseLimit: at least 1");
        if (o.Delivery.ConnectionIdleSeconds is < 0 or > 300) errors.Add("delivery.connectionIdleSeconds: 0 to 300");
        if (o.Delivery.UnreachableSuspendSeconds is < 0 or > 3600) errors.Add("delivery.unreachableSuspendSeconds: 0 to 3600");
        if (o.Delivery.LocalConcurrency < 1) errors.Add("delivery.localConcurrency: at least 1");
        if (o.Delivery.LocalRetrySeconds < 1) errors.Add("delivery.localRetrySeconds: at least 1");
        try { LmtpTarget.Parse(o.Delivery.Lmtp); } catch (FormatException ex) { errors.Add(ex.Message); }
        errors.AddRange(MailFileAccess.ConfigurationProblems(o.Delivery, ProcessGroups.Current)); // membership: where files are made (MailFileAccess.From)
        var q = o.Queue;
        foreach (var (name, value) in new[] { ("queue.maxRetryInterval", q.MaxRetryInterval), ("queue.delayWarningAfter", q.DelayWarningAfter), ("queue.expireAfter", q.ExpireAfter), ("queue.tlsExpireAfter", q.TlsExpireAfter) })
        {
            if (!Duration.TryParse(value, out var d) || d <= TimeSpan.Zero) errors.Add($"{name}: '{value}' is not a positive duration (e.g. 30s, 5m, 1h, 5d)");
        }
        var steps = q.RetrySchedule.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (steps.Length == 0 || steps.Any(s => !Duration.TryParse(s, out var d) || d <= TimeSpan.Zero))
            errors.Add($"queue.retrySchedule: '{q.RetrySchedule}' is not a comma-separated list of positive durations (e.g. 5m,10m,20m,40m)");
        if (q.RetryJitter is < 0 or >= 1) errors.Add("queue.retryJitter: from 0 up to (not including) 1");
        if (!OutboundTlsLevels.TryParse(o.Delivery.DefaultTlsLevel, out _)) errors.Add($"delivery.defaultTlsLevel: '{o.Delivery.DefaultTlsLevel}' is not one of {OutboundTlsLevels.AllNames}");
        var a = o.Auth;
        if (!Duration.TryParse(a.FailureDelay, out var delay) || delay < TimeSpan.Zero || delay > TimeSpan.FromMinutes(1)) errors.Add($"auth.failureDelay: '{a.FailureDelay}' is not a duration from 0s to 1m");
        if (!Duration.TryParse(a.FailureWindow, out var window) || window <= TimeSpan.Zero) errors.Add($"auth.failureWindow: '{a.FailureWindow}' is not a positive duration (e.g. 15m)");
        if (a.MaxFailuresPerIp < 1 || a.MaxFailuresPerAccount < 1) errors.Add("auth: maxFailuresPerIp and maxFailuresPerAccount must be at least 1");
        var dash = o.Dashboard;
        if (!Duration.TryParse(dash.SessionIdleTimeout, out var idle) || idle < TimeSpan.FromMinutes(1)) errors.Add($"dashboard.sessionIdleTimeout: '{dash.SessionIdleTimeout}' is not a duration of at least 1m");
        if (!Duration.TryParse(dash.SessionMaxLifetime, out var lifetime) || lifetime < TimeSpan.FromMinutes(1)) errors.Add($"dashboard.sessionMaxLifetime: '{dash.SessionMaxLifetime}' is not a duration of at least 1m");
        if (!HstsSettings.TryParse(dash.Hsts, out _)) errors.Add($"dashboard.hsts: '{dash.Hsts}' is not auto, true or false");
        if (dash.LoginAttemptsPerMinute < 1) errors.Add("dashboard.loginAttemptsPerMinute: at least 1");
        if (dash.PlainHttp && Endpoint.TryParseQuiet(o.Listeners.Dashboard) is { } dep && !System.Net.IPAddress.IsLoopback(dep.Address))
            errors.Add($"dashboard.plainHttp: only on a loopback address (listeners.dashboard is {o.Listeners.Dashboard}); logins must not cross a network in clear text");
        if (!Duration.TryParse(o.MtaSts.MaxAge, out var maxAge) || maxAge < TimeSpan.FromSeconds(1) || maxAge.TotalSeconds > 31_557_600)
            errors.Add($"mtaSts.maxAge: '{o.MtaSts.MaxAge}' is not a duration from 1s to 365.25d (RFC 8461 §3.2; weeks are usual, e.g. 1w)");
        if (o.Logs.RetentionDays < 30) errors.Add("logs.retentionDays: at least 30 (the readiness preview reads 30 days)");
        if (o.Store.IsShared)
        {
            try { PostgresUri.Parse(o.Store.ConnectionString); } catch (FormatException ex) { errors.Add(ex.Message); }
        }
        else if (o.Store.PasswordFile.Length > 0) errors.Add("store.passwordFile: only with store.connectionString (the embedded SQLite store has no password)");
        if (o.Node.Name.Length > 0 && !NodeNameRule.IsValid(o.Node.Name)) errors.Add($"node.name: '{o.Node.Name}' is not 1 to 63 letters, digits, '.', '-' or '_'");
        if (errors.Count > 0) throw new ConfigException("invalid configuration:\n  " + string.Join("\n  ", errors));
    }

    public static string ResolvePath(string dataDirectory, string path) =>
        Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(dataDirectory, path));

    public static byte[] Serialize(SecureMxOptions options) => JsonSerializer.SerializeToUtf8Bytes(options, Json);
}

/// <summary>Host names as used in EHLO and certificates: LDH labels, at least one character, lower case.</summary>
public static class HostnameRules
{
    public static bool IsValid(string name) =>
        name.Length is > 0 and <= 253 && SmtpAddressParser.IsAsciiDomain(name);
}
