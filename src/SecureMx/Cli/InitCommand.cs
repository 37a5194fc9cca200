using System.CommandLine;
using SecureMx.Config;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Tls;

namespace SecureMx.Cli;

/// <summary>
/// securemx init: creates a complete instance directory, or nothing at all. Everything is built in a
/// temporary sibling directory and renamed into place at the end.
/// </summary>
public static class InitCommand
{
    public static Command Create()
    {
        var data = CliOptions.Data();
        var hostname = new Option<string>("--hostname") { Description = "host name of this MTA (greeting, Received, certificate)", Required = true, HelpName = "NAME" };
        var mx = new Option<string?>("--mx") { Description = "inbound MX listener ADDR:PORT or off (default 127.0.0.1:2525)", HelpName = "ADDR:PORT" };
        var secureMx = new Option<string?>("--securemx") { Description = "secure MX listener (default 127.0.0.1:2526)", HelpName = "ADDR:PORT" };
        var secureMxHostname = new Option<string?>("--securemx-hostname") { Description = "host name of the secure MX (default: --hostname); also in the generated certificate", HelpName = "NAME" };
        var submission = new Option<string?>("--submission") { Description = "submission, STARTTLS (default 127.0.0.1:2587)", HelpName = "ADDR:PORT" };
        var submissions = new Option<string?>("--submissions") { Description = "submission, implicit TLS (default 127.0.0.1:2465)", HelpName = "ADDR:PORT" };
        var dashboard = new Option<string?>("--dashboard") { Description = "dashboard HTTPS (default 127.0.0.1:8443)", HelpName = "ADDR:PORT" };
        var metrics = new Option<string?>("--metrics") { Description = "Prometheus /metrics and /health, plain HTTP (default off; loopback recommended)", HelpName = "ADDR:PORT" };
        var mtaSts = new Option<string?>("--mta-sts") { Description = "HTTPS for the hosted domains' MTA-STS policies (default off; port 443 in production)", HelpName = "ADDR:PORT" };
        var dns = new Option<string?>("--dns") { Description = "local validating DNS resolver (default 127.0.0.1:53)", HelpName = "ADDR:PORT" };
        var cert = new Option<string?>("--cert") { Description = "PEM certificate chain (default: a generated self-signed one)", HelpName = "FILE" };
        var key = new Option<string?>("--key") { Description = "PEM private key for --cert", HelpName = "FILE" };
        var store = new Option<string?>("--store") { Description = "a PostgreSQL store shared by several nodes, postgresql://USER@HOST:PORT/DB (default: the embedded SQLite store); the password comes from --store-password-file, PGPASSWORD or .pgpass", HelpName = "URI" };
        var storePasswordFile = new Option<string?>("--store-password-file") { Description = "file whose first line is the PostgreSQL password (store.passwordFile)", HelpName = "FILE" };
        var node = new Option<string?>("--node") { Description = "this node's name among several sharing the store (node.name; default: the host name of the machine)", HelpName = "NAME" };

        var cmd = new Command("init", "create a new instance: configuration, store, spool, mailboxes, TLS certificate")
        {
            data, hostname, mx, secureMx, secureMxHostname, submission, submissions, dashboard, dns, cert, key, metrics, store, storePasswordFile, node, mtaSts,
        };
        cmd.SetAction(p =>
        {
            Run(CliOptions.RequireData(p.GetValue(data)!), p.GetValue(hostname)!, p.GetValue(mx), p.GetValue(secureMx), p.GetValue(submission),
                p.GetValue(submissions), p.GetValue(dashboard), p.GetValue(dns), p.GetValue(cert), p.GetValue(key), p.GetValue(secureMxHostname), p.GetValue(metrics),
                p.GetValue(store), p.GetValue(storePasswordFile), p.GetValue(node), p.GetValue(mtaSts));
            return 0;
        });
        return cmd;
    }

    public static void Run(string dir, string hostname, string? mx, string? secureMx, string? submission, string? submissions,
        string? dashboard, string? dns, string? cert, string? key, string? secureMxHostname = null, string? metrics = null,
        string? store = null, string? storePasswordFile = null, string? node = null, string? mtaSts = null)
    {
        hostname = hostname.ToLowerInvariant();
        if (!HostnameRules.IsValid(hostname)) throw new CliException($"--hostname: '{hostname}' is not a valid host name");
        secureMxHostname = secureMxHostname?.ToLowerInvariant();
        if (secureMxHostname is not null && !HostnameRules.IsValid(secureMxHostname)) throw new CliException($"--securemx-hostname: '{secureMxHostname}' is not a valid host name");
        if ((cert is null) != (key is null)) throw new CliException("--cert and --key go together");
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any()) throw new CliException($"{dir} exists and is not empty; refusing to overwrite an instance");
        if (File.Exists(dir)) throw new CliException($"{dir} is a file");

        var options = new SecureMxOptions { Hostname = hostname, SecureMxHostname = secureMxHostname ?? "" };
        options.Listeners.Mx = mx ?? options.Listeners.Mx;
        options.Listeners.SecureMx = secureMx ?? options.Listeners.SecureMx;
        options.Listeners.Submission = submission ?? options.Listeners.Submission;
        options.Listeners.Submissions = submissions ?? options.Listeners.Submissions;
        options.Listeners.Dashboard = dashboard ?? options.Listeners.Dashboard;
        options.Listeners.Metrics = metrics ?? options.Listeners.Metrics;
        options.Listeners.MtaSts = mtaSts ?? options.Listeners.MtaSts;
        options.Dns = dns ?? options.Dns;
        if (store is not null)
        {
            try { PostgresUri.Parse(store); }
            catch (FormatException ex) { throw new CliException("--store: " + ex.Message.Replace("store.connectionString: ", "")); }
            options.Store.ConnectionString = store;
        }
        if (storePasswordFile is not null)
        {
            if (store is null) throw new CliException("--store-password-file goes with --store");
            options.Store.PasswordFile = Path.GetFullPath(storePasswordFile);
        }
        if (node is not null)
        {
            if (!NodeNameRule.IsValid(node)) throw new CliException($"--node: '{node}' is not 1 to 63 letters, digits, '.', '-' or '_'");
            options.Node.Name = node;
        }
        // Endpoint errors first, before anything touches the disk.
        foreach (var (name, value) in new[] { ("--mx", options.Listeners.Mx), ("--securemx", options.Listeners.SecureMx), ("--submission", options.Listeners.Submission), ("--submissions", options.Listeners.Submissions), ("--dashboard", options.Listeners.Dashboard), ("--metrics", options.Listeners.Metrics), ("--mta-sts", options.Listeners.MtaSts), ("--dns", options.Dns) })
        {
            try { Endpoint.Parse(value, name); }
            catch (FormatException ex) { throw new CliException(ex.Message); }
        }
        if (cert is not null)
        {
            cert = Path.GetFullPath(cert);
            key = Path.GetFullPath(key!);
            try
            {
                using var loaded = CertificateFactory.Load(cert, key).Certificate;
            }
            catch (Exception ex) when (ex is IOException or System.Security.Cryptography.CryptographicException or ArgumentException or UnauthorizedAccessException)
            {
                throw new CliException($"--cert/--key: cannot load the certificate and key: {ex.Message}");
            }
            options.Tls.Certificate = cert;
            options.Tls.Key = key;
        }

        var parent = Path.GetDirectoryName(dir) ?? throw new CliException($"{dir}: no parent directory");
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, "." + Path.GetFileName(dir) + ".init-" + Environment.ProcessId);
        try
        {
            Directory.CreateDirectory(staging, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            Directory.CreateDirectory(Path.Combine(staging, "spool", "data"));
            Directory.CreateDirectory(Path.Combine(staging, "mail"));
            if (cert is null)
            {
                Directory.CreateDirectory(Path.Combine(staging, "tls"));
                var (certPem, keyPem) = CertificateFactory.CreateSelfSigned(hostname, TimeProvider.System, secureMxHostname);
                DurableFiles.Default.WriteFileAtomic(Path.Combine(staging, "tls", "cert.pem"), System.Text.Encoding.ASCII.GetBytes(certPem));
                DurableFiles.Default.WriteFileAtomic(Path.Combine(staging, "tls", "key.pem"), System.Text.Encoding.ASCII.GetBytes(keyPem), UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            // The embedded store is made here; a PostgreSQL one is reached and migrated (the first node
            // creates the schema, the others find it), so that a wrong address or password fails init.
            try
            {
                StoreDatabase.Open(staging, options.Store).ReleasePooledConnections();
            }
            catch (StoreException ex)
            {
                throw new CliException(ex.Message);
            }
            DurableFiles.Default.WriteFileAtomic(Path.Combine(staging, ConfigLoader.FileName), ConfigLoader.Serialize(options));
            ConfigLoader.Validate(options, staging);
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(dir)) Directory.Delete(dir); // empty, checked above
            Directory.Move(staging, dir);
            DurableFiles.Default.SyncDirectory(parent);
        }
        catch
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            throw;
        }
        Console.WriteLine($"created {dir} for {hostname}");
        Console.WriteLine($"  mx listener: {options.Listeners.Mx}");
        Console.WriteLine($"  certificate: {(cert ?? Path.Combine(dir, "tls", "cert.pem"))}{(cert is null ? " (self-signed)" : "")}");
        var securemx = CliCommandName.Current;
        Console.WriteLine($"next: {securemx} domain add example.org --data {dir}; {securemx} serve --data {dir}");
    }
}
