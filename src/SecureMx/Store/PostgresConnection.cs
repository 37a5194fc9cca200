using Npgsql;
using SecureMx.Config;

namespace SecureMx.Store;

/// <summary>
/// How SecureMx connects to a PostgreSQL store: the Npgsql connection string from
/// <c>store.connectionString</c> (<see cref="PostgresUri"/>) and the password from, in order, the
/// file <c>store.passwordFile</c> names, the environment (<c>PGPASSWORD</c>), or the password file
/// libpq would read (<c>PGPASSFILE</c>, else <c>~/.pgpass</c>) — never from securemx.json or a
/// command line. A database that is down must not stall a caller for long: connecting gives up
/// after 5 s (connect_timeout overrides), and TCP keepalive notices a server gone silent.
/// </summary>
public static class PostgresConnection
{
    public const int DefaultConnectTimeoutSeconds = 5;

    /// <summary>The pool's size (Npgsql's default is 100; a node rarely needs more than a few at once).</summary>
    public const int MaxPoolSize = 50;

    public static NpgsqlConnectionStringBuilder Builder(PostgresUri uri, string? password, string applicationName)
    {
        var b = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.Port,
            Database = uri.Database,
            Username = uri.User,
            Timeout = DefaultConnectTimeoutSeconds,
            CommandTimeout = 30,
            KeepAlive = 30,
            ApplicationName = applicationName,
            MaxPoolSize = MaxPoolSize,
        };
        password ??= Environment.GetEnvironmentVariable("PGPASSWORD") is { Length: > 0 } fromEnvironment ? fromEnvironment : null;
        if (password is not null) b.Password = password;
        else if (PassFile() is { } passfile) b.Passfile = passfile;
        foreach (var (name, value) in uri.Parameters)
        {
            switch (name)
            {
                case "sslmode":
                    b.SslMode = value switch
                    {
                        "disable" => SslMode.Disable,
                        "allow" => SslMode.Allow,
                        "prefer" => SslMode.Prefer,
                        "require" => SslMode.Require,
                        "verify-ca" => SslMode.VerifyCA,
                        _ => SslMode.VerifyFull,
                    };
                    break;
                case "sslrootcert": b.RootCertificate = value; break;
                case "sslcert": b.SslCertificate = value; break;
                case "sslkey": b.SslKey = value; break;
                case "connect_timeout": b.Timeout = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "application_name": b.ApplicationName = value; break;
            }
        }
        return b;
    }

    /// <summary>
    /// The first line of <c>store.passwordFile</c> (relative paths: to the data directory), or null when
    /// none is configured. A file others may read is refused, as libpq refuses such a .pgpass.
    /// </summary>
    public static string? ReadPasswordFile(string dataDirectory, string passwordFile)
    {
        if (passwordFile.Length == 0) return null;
        var path = ConfigLoader.ResolvePath(dataDirectory, passwordFile);
        try
        {
            if ((File.GetUnixFileMode(path) & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute)) != 0)
                throw new StoreException($"store.passwordFile: {path} may be read by anyone; chmod 600 (or 640 with the instance's group) it");
            using var reader = new StreamReader(path);
            var line = reader.ReadLine();
            if (string.IsNullOrEmpty(line)) throw new StoreException($"store.passwordFile: {path} is empty; its first line is the password");
            return line;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StoreException($"store.passwordFile: cannot read {path}: {ex.Message}");
        }
    }

    private static string? PassFile()
    {
        if (Environment.GetEnvironmentVariable("PGPASSFILE") is { Length: > 0 } named) return named;
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var pgpass = Path.Combine(home, ".pgpass");
        return home.Length > 0 && File.Exists(pgpass) ? pgpass : null;
    }
}
