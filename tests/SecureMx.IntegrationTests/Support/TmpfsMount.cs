namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// A small tmpfs mounted over a directory, its former contents copied onto it: a real file system
/// that runs out of space (ENOSPC) at a size a test chooses. Needs root (CAP_SYS_ADMIN); where
/// mounting is not permitted the test is skipped with the reason. Unmounted on dispose (lazily when
/// something still holds a file on it), the former contents put back.
/// </summary>
public sealed class TmpfsMount : IAsyncDisposable
{
    private readonly string _path;
    private readonly string _saved;

    private TmpfsMount(string path, string saved)
    {
        _path = path;
        _saved = saved;
    }

    public static async Task<TmpfsMount> MountAsync(string path, string size)
    {
        var saved = path + ".before-tmpfs";
        Directory.Move(path, saved);
        Directory.CreateDirectory(path);
        var mount = await Run.ProcessAsync("mount", ["-t", "tmpfs", "-o", $"size={size},mode=0700", "tmpfs", path]);
        if (mount.ExitCode != 0)
        {
            Directory.Delete(path);
            Directory.Move(saved, path);
            Assert.Skip($"cannot mount a tmpfs on {path} (needs root or CAP_SYS_ADMIN): {mount.All.Trim()}");
        }
        Copy(saved, path);
        return new TmpfsMount(path, saved);
    }

    internal static void Copy(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from)) Copy(dir, Directory.CreateDirectory(Path.Combine(to, Path.GetFileName(dir))).FullName);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
    }

    public async ValueTask DisposeAsync()
    {
        if ((await Run.ProcessAsync("umount", [_path])).ExitCode != 0) await Run.ProcessAsync("umount", ["-l", _path]);
        Directory.Delete(_path, recursive: true);
        Directory.Move(_saved, _path);
    }
}
