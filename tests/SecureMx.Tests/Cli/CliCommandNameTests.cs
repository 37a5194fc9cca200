using SecureMx.Cli;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Cli;

/// <summary>The command the hints print is the one the operator can type: installed, or from a checkout.</summary>
public sealed class CliCommandNameTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Under_dotnet_the_hint_names_dotnet_and_the_full_path_of_the_dll()
    {
        Assert.Equal("dotnet /src/artifacts/securemx/securemx.dll", CliCommandName.Resolve("/usr/share/dotnet/dotnet", "/src/artifacts/securemx/securemx.dll", "/usr/bin"));
    }

    [Fact]
    public void A_dll_path_with_a_space_is_quoted_for_the_shell()
    {
        Assert.Equal("dotnet '/my src/securemx.dll'", CliCommandName.Resolve("/usr/bin/dotnet", "/my src/securemx.dll", "/usr/bin"));
    }

    [Fact]
    public void The_installed_app_host_with_securemx_on_the_path_is_named_securemx()
    {
        var bin = Directory.CreateDirectory(_dir.Combine("bin")).FullName;
        File.WriteAllText(Path.Combine(bin, "securemx"), "#!/bin/sh\n");
        Assert.Equal("securemx", CliCommandName.Resolve("/usr/local/lib/securemx/securemx", "/usr/local/lib/securemx/securemx.dll", "/usr/bin:" + bin));
    }

    [Fact]
    public void The_app_host_without_securemx_on_the_path_is_named_by_its_path()
    {
        Assert.Equal("/opt/build/securemx", CliCommandName.Resolve("/opt/build/securemx", "/opt/build/securemx.dll", _dir.Path));
    }
}
