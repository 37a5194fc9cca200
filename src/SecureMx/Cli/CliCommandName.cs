namespace SecureMx.Cli;

/// <summary>
/// How the operator runs this CLI, for the commands a hint prints: <c>securemx</c> when installed
/// (scripts/install.sh puts it on the PATH), <c>dotnet …/securemx.dll</c> from a checkout's build.
/// </summary>
public static class CliCommandName
{
    public static string Current { get; } = Resolve(Environment.ProcessPath, Environment.GetCommandLineArgs()[0], Environment.GetEnvironmentVariable("PATH"));

    /// <param name="processPath">the running executable: dotnet, or the securemx app host</param>
    /// <param name="entryPath">the first command-line argument: the securemx.dll under dotnet</param>
    /// <param name="searchPath">PATH, where an installed securemx is found</param>
    public static string Resolve(string? processPath, string entryPath, string? searchPath)
    {
        if (processPath is null || Path.GetFileNameWithoutExtension(processPath) == "dotnet")
            return "dotnet " + Quote(Path.GetFullPath(entryPath));
        // The app host: by its name when that name on the PATH is a securemx (the installed launcher), else by path.
        var onPath = (searchPath ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(d => File.Exists(Path.Combine(d, "securemx")));
        return onPath ? "securemx" : Quote(processPath);
    }

    private static string Quote(string path) => path.Any(c => char.IsWhiteSpace(c) || "'\"$`\\;&|<>()*?[]#~".Contains(c)) ? "'" + path.Replace("'", "'\\''", StringComparison.Ordinal) + "'" : path;
}
