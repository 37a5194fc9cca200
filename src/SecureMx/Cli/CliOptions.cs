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

    public static string RequireData(string value)
    {
        if (string.IsNullOrWhiteSpace(value)) throw new CliException("--data DIR is required (or set SECUREMX_DATA)");
        return Path.GetFullPath(value);
    }
}

/// <summary>An operator error: printed as "securemx: message", exit code 1.</summary>
public sealed class CliException(string message) : Exception(message);
