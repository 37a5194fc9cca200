namespace SecureMx.Tests.TestSupport;

/// <summary>Files of the repository the tests run from (docs, sources), found from the test binaries upwards.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SecureMx.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("SecureMx.slnx not found above " + AppContext.BaseDirectory);
    }
}
