using System.Globalization;

namespace SecureMx.Config;

/// <summary>
/// <c>store.connectionString</c> when it names PostgreSQL: <c>postgresql://USER@HOST[:PORT]/DB[?PARAM=VALUE&amp;…]</c>
/// (also <c>postgres://</c>), the URI form of libpq's connection strings. The password is refused here:
/// it is never in securemx.json or on a command line (store.passwordFile, PGPASSWORD or .pgpass).
/// Only the parameters SecureMx passes on are accepted (an unknown one is a typo, not a silent no-op):
/// TLS to the database (<c>sslmode</c>, <c>sslrootcert</c>, <c>sslcert</c>, <c>sslkey</c>), <c>connect_timeout</c>
/// (seconds) and <c>application_name</c>.
/// </summary>
public sealed record PostgresUri(string User, string Host, int Port, string Database, IReadOnlyDictionary<string, string> Parameters)
{
    public const int DefaultPort = 5432;

    public static readonly IReadOnlyList<string> KnownParameters = ["sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name"];

    private const string NoPasswordHere = "a password does not belong in securemx.json; put it into the file store.passwordFile names, PGPASSWORD or .pgpass";

    public static readonly IReadOnlyList<string> SslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

    /// <summary>Parses <paramref name="text"/>; a <see cref="FormatException"/> says what is wrong, never with the text of a password.</summary>
    public static PostgresUri Parse(string text)
    {
        const string what = "store.connectionString";
        string rest;
        if (text.StartsWith("postgresql://", StringComparison.Ordinal)) rest = text["postgresql://".Length..];
        else if (text.StartsWith("postgres://", StringComparison.Ordinal)) rest = text["postgres://".Length..];
        else throw new FormatException($"{what}: must start with postgresql:// (or be empty for the embedded SQLite store)");

        var query = "";
        int q = rest.IndexOf('?');
        if (q >= 0)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }
        int slash = rest.IndexOf('/');
        if (slash < 0) throw new FormatException($"{what}: no database name (postgresql://USER@HOST:PORT/DB)");
        var authority = rest[..slash];
        var database = Uri.UnescapeDataString(rest[(slash + 1)..]);
        if (database.Length == 0 || database.Contains('/')) throw new FormatException($"{what}: no database name (postgresql://USER@HOST:PORT/DB)");

        int at = authority.LastIndexOf('@');
        if (at < 0) throw new FormatException($"{what}: no user name (postgresql://USER@HOST:PORT/DB)");
        var userInfo = authority[..at];
        if (userInfo.Contains(':'))
            throw new FormatException($"{what}: {NoPasswordHere}");
        var user = Uri.UnescapeDataString(userInfo);
        if (user.Length == 0) throw new FormatException($"{what}: no user name (postgresql://USER@HOST:PORT/DB)");

        var hostPort = authority[(at + 1)..];
        string host;
        int port = DefaultPort;
        string? portText = null;
        if (hostPort.StartsWith('['))
        {
            int close = hostPort.IndexOf(']');
            if (close < 0) throw new FormatException($"{what}: unclosed [ in the host");
            host = hostPort[1..close];
            if (hostPort.Length > close + 1)
            {
                if (hostPort[close + 1] != ':') throw new FormatException($"{what}: expected :PORT after ]");
                portText = hostPort[(close + 2)..];
            }
        }
        else
        {
            int colon = hostPort.LastIndexOf(':');
            host = colon < 0 ? hostPort : hostPort[..colon];
            if (colon >= 0) portText = hostPort[(colon + 1)..];
        }
        if (host.Length == 0) throw new FormatException($"{what}: no host");
        if (portText is not null && (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
            throw new FormatException($"{what}: port '{portText}' is not 1 to 65535");

        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=');
            var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            if (name == "password") throw new FormatException($"{what}: {NoPasswordHere}");
            if (!KnownParameters.Contains(name)) throw new FormatException($"{what}: unknown parameter '{name}' (known: {string.Join(", ", KnownParameters)})");
            parameters[name] = value;
        }
        if (parameters.TryGetValue("sslmode", out var mode) && !SslModes.Contains(mode))
            throw new FormatException($"{what}: sslmode '{mode}' is not one of {string.Join(", ", SslModes)}");
        if (parameters.TryGetValue("connect_timeout", out var timeout) && (!int.TryParse(timeout, NumberStyles.None, CultureInfo.InvariantCulture, out var t) || t < 1))
            throw new FormatException($"{what}: connect_timeout '{timeout}' is not a number of seconds");
        return new PostgresUri(user, host, port, database, parameters);
    }

    /// <summary>The URI again, for messages: never holds a password, because none is accepted.</summary>
    public override string ToString() =>
        $"postgresql://{Uri.EscapeDataString(User)}@{(Host.Contains(':') ? "[" + Host + "]" : Host)}:{Port}/{Uri.EscapeDataString(Database)}"
        + (Parameters.Count == 0 ? "" : "?" + string.Join("&", Parameters.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value))));
}
