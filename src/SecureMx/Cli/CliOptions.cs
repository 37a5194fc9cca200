using System.CommandLine;

namespace SecureMx.Cli;

/// <summary>Options shared by several commands.</summary>
public static class CliOptions
{
    /// <summary>--data DIR; SECUREMX_DATA is the fallback so that scripts can set it once.</summary>
    public static Option<string> Data() => new("--data")
    {
        Description = "instance data directory (default: $SECUREMX_DATA)",
        HelpName = "DIR",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SECUREMX_DATA") ?? "",
    };

    /// <summary>Loads and validates DIR/securemx.json; a bad configuration becomes an operator error.</summary>
    public static SecureMx.Config.SecureMxOptions LoadConfig(string dir, string[]? overrides = null)
    {
        try
        {
            return SecureMx.Config.ConfigLoader.Load(dir, overrides);
        }
        catch (SecureMx.Config.ConfigException ex)
        {
            throw new CliException(ex.Message);
        }
    }

    /// <summary>
    /// delivery.mailFileMode and delivery.mailGroup for a command that makes mail files (serve, `mailbox
    /// add`): also whether this process may give files to the group, which <see cref="LoadConfig"/> does
    /// not ask (any administrator may run the other commands).
    /// </summary>
    public static SecureMx.Config.MailFileAccess MailFileAccess(SecureMx.Config.SecureMxOptions options)
    {
        try
        {
            return SecureMx.Config.MailFileAccess.From(options.Delivery);
        }
        catch (SecureMx.Config.ConfigException ex)
        {
            throw new CliException("invalid configuration:\n  " + ex.Message);
        }
    }

    /// <summary>
    /// The instance's queue time rules, or null with the reason when its configuration cannot be read:
    /// commands that only show the times must keep working when a broken securemx.json is the trouble.
    /// </summary>
    public static SecureMx.Queue.QueueTimeRules? TryTimeRules(string dir, out string? problem)
    {
        try
        {
            problem = null;
            return new SecureMx.Queue.QueueTimeRules(LoadConfig(dir).Queue);
        }
        catch (CliException ex)
        {
            problem = ex.Message;
            return null;
        }
    }

    /// <summary>
    /// The full path of --data after checking that it holds an instance (securemx.json, and the SQLite
    /// store unless the configuration names a PostgreSQL one); run by root on an instance another user
    /// owns, the command continues as that user.
    /// </summary>
    public static string RequireInstance(string value)
    {
        var dir = RequireData(value);
        if (!File.Exists(Path.Combine(dir, SecureMx.Config.ConfigLoader.FileName))
            || (!File.Exists(Path.Combine(dir, SecureMx.Store.StoreDatabase.FileName)) && !StoreOptions(dir).IsShared))
            throw new CliException($"{dir} is not a SecureMx instance (run 'securemx init --data {dir} --hostname NAME' first)");
        InstanceOwner.DropTo(dir);
        return dir;
    }

    /// <summary>
    /// The instance's store options (store.connectionString, store.passwordFile), from securemx.json and
    /// the environment, without validating the rest: commands that only need the store keep working when
    /// another part of the configuration is broken.
    /// </summary>
    public static SecureMx.Config.StoreOptions StoreOptions(string dir)
    {
        try
        {
            return SecureMx.Config.ConfigLoader.ReadStoreOptions(dir);
        }
        catch (SecureMx.Config.ConfigException ex)
        {
            throw new CliException(ex.Message);
        }
    }

    /// <summary>The instance's store (SQLite or PostgreSQL), schema brought up to date; a command builds the repositories it needs on it.</summary>
    public static SecureMx.Store.StoreDatabase OpenStore(string dir) => Wrap(() => SecureMx.Store.StoreDatabase.Open(dir, StoreOptions(dir)));

    /// <summary>The store for a command that only reads: SQLite opened read-only, so that it works on a full disk too.</summary>
    public static SecureMx.Store.StoreDatabase OpenStoreForReading(string dir) => Wrap(() => SecureMx.Store.StoreDatabase.OpenForReading(dir, StoreOptions(dir)));

    private static SecureMx.Store.StoreDatabase Wrap(Func<SecureMx.Store.StoreDatabase> open)
    {
        try
        {
            return open();
        }
        catch (SecureMx.Store.StoreException ex)
        {
            throw new CliException(ex.Message);
        }
    }

    public static string RequireData(string value)
    {
        if (string.IsNullOrWhiteSpace(value)) throw new CliException("--data DIR is required (or set SECUREMX_DATA)");
        return Path.GetFullPath(value);
    }
}

/// <summary>An operator error: printed as "securemx: message", exit code 1.</summary>
public sealed class CliException(string message) : Exception(message);
