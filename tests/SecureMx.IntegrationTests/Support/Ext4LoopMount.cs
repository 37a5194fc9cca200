namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// A small ext4 file system in an image file, loop-mounted over a directory, its former contents
/// copied onto it: unlike <see cref="TmpfsMount"/> it has a page cache, delayed allocation and a
/// journal, so that a full disk shows itself where it does on a real server (a write, a flush, an
/// fsync, SQLite's commit). Needs root; where mounting is not permitted the test is skipped with the
/// reason. Unmounted on dispose (lazily when something still holds a file on it), the image removed
/// and the former contents put back.
/// </summary>
public sealed class Ext4LoopMount : IAsyncDisposable
{
    private readonly string _path;
    private readonly string _saved;
    private readonly string _image;

    private Ext4LoopMount(string path, string saved, string image)
    {
        _path = path;
        _saved = saved;
        _image = image;
    }

    public static async Task<Ext4LoopMount> MountAsync(string path, int sizeMb)
    {
        var image = path + ".ext4";
        var saved = path + ".before-ext4";
        await using (var file = new FileStream(image, FileMode.CreateNew)) file.SetLength(sizeMb * 1024L * 1024);
        var mkfs = await Run.ProcessAsync("mkfs.ext4", ["-q", "-F", image]);
        if (mkfs.ExitCode != 0)
        {
            File.Delete(image);
            Assert.Skip($"cannot make an ext4 file system (mkfs.ext4 missing?): {mkfs.All.Trim()}");
        }
        Directory.Move(path, saved);
        Directory.CreateDirectory(path);
        var mount = await Run.ProcessAsync("mount", ["-o", "loop", image, path]);
        if (mount.ExitCode != 0)
        {
            Directory.Delete(path);
            Directory.Move(saved, path);
            File.Delete(image);
            Assert.Skip($"cannot loop-mount an ext4 image on {path} (needs root and a loop device): {mount.All.Trim()}");
        }
        TmpfsMount.Copy(saved, path);
        return new Ext4LoopMount(path, saved, image);
    }

    public async ValueTask DisposeAsync()
    {
        if ((await Run.ProcessAsync("umount", [_path])).ExitCode != 0) await Run.ProcessAsync("umount", ["-l", _path]);
        Directory.Delete(_path, recursive: true);
        Directory.Move(_saved, _path);
        File.Delete(_image);
    }
}
