using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Cli;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Cli;

/// <summary>
/// `securemx backup` and `securemx restore`: the backup is taken with the queue open for writing (as a
/// running server holds it); what the queue held comes back byte for byte, inline and spool-file
/// messages alike; and the refusals (existing target, running server, a directory in use).
/// </summary>
public sealed class InstanceBackupTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _data;

    private static readonly List<EnvelopeRecipient> Alice =
        [new("alice@example.test", "alice@example.test", RecipientRoute.Local, "mail/example.test/alice", DsnNotify.Unspecified, null, null)];

    public InstanceBackupTests()
    {
        _data = _dir.Combine("instance");
        InitCommand.Run(_data, "mx.example.test", "off", "off", "off", "off", "off", null, null, null);
        Directory.CreateDirectory(Path.Combine(_data, "dashboard-keys"));
        File.WriteAllText(Path.Combine(_data, "dashboard-keys", "key-1.xml"), "<key/>");
        var keyRingKey = Path.Combine(_data, SecureMx.Dashboard.DashboardKeyRingKey.FileName);
        File.WriteAllBytes(keyRingKey, Enumerable.Range(1, 32).Select(b => (byte)b).ToArray());
        File.SetUnixFileMode(keyRingKey, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private MessageSpool OpenSpool(string data) => new(Path.Combine(data, "spool"), TimeProvider.System, NullLogger.Instance);

    private static Task<string> QueueAsync(MessageSpool spool, int size)
    {
        var text = new System.Text.StringBuilder($"Subject: {size} bytes\n\n");
        while (text.Length < size) text.Append(new string('b', 70)).Append('\n');
        var acceptor = new MessageAcceptor(spool, arrivals: null, TimeProvider.System, NullLogger.Instance);
        return SendmailCommand.QueueAsync(acceptor, new MemoryStream(System.Text.Encoding.ASCII.GetBytes(text.ToString())), "root@example.test", Alice, maxSize: 10 * 1024 * 1024);
    }

    private static byte[] Bytes(MessageSpool spool, string id)
    {
        using var s = spool.OpenData(id);
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    }

    private Task<BackupManifest> BackupAsync(string target) => InstanceBackup.CreateAsync(_data, target, TimeProvider.System, TextWriter.Null);

    [Fact]
    public async Task ABackupTakenWithTheQueueOpenRestoresEveryQueuedMessageByteForByte()
    {
        var expected = new Dictionary<string, byte[]>();
        using (var spool = OpenSpool(_data))
        {
            foreach (var size in new[] { 2 * 1024, 400 * 1024, 10 * 1024, 700 * 1024 })
            {
                var id = await QueueAsync(spool, size);
                expected[id] = Bytes(spool, id);
            }
            // The queue stays open, its write-ahead log not checkpointed: as while serve runs.
            var manifest = await BackupAsync(_dir.Combine("backup"));
            Assert.Equal((4, 2, 2, 0), (manifest.QueuedMessages, manifest.SpoolFiles, manifest.InlineMessages, manifest.LeftQueueDuringBackup));
            Assert.Equal("mx.example.test", manifest.Hostname);
        }
        Assert.Empty(Directory.GetDirectories(_dir.Path, ".backup*"));

        var restored = _dir.Combine("restored");
        var result = InstanceRestore.Run(_dir.Combine("backup"), restored, force: false);
        Assert.Equal(4, result.QueuedMessages);
        Assert.Empty(result.MissingData);
        foreach (var file in new[] { ConfigLoader.FileName, StoreDatabase.FileName, "tls/cert.pem", "tls/key.pem", "dashboard-keys/key-1.xml" })
            Assert.True(File.Exists(Path.Combine(restored, file)), file);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(restored, "tls", "key.pem")));
        // The key of the dashboard's key ring comes back as it was (else every dashboard login ends), still 0600.
        var keyRingKey = Path.Combine(restored, SecureMx.Dashboard.DashboardKeyRingKey.FileName);
        Assert.Equal(Enumerable.Range(1, 32).Select(b => (byte)b).ToArray(), File.ReadAllBytes(keyRingKey));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyRingKey));
        using var back = MessageSpool.OpenForReading(Path.Combine(restored, "spool"), TimeProvider.System, NullLogger.Instance);
        Assert.Equal(expected.Keys.Order(), back.Queue.AllMessageIds().Order());
        foreach (var (id, bytes) in expected) Assert.Equal(bytes, Bytes(back, id));
        Assert.Equal(ConfigLoader.Load(_data).Hostname, ConfigLoader.Load(restored).Hostname);
    }

    [Fact]
    public async Task TheDkimPrivateKeysOfASingleBoxComeBackWithTheirModes()
    {
        new SecureMx.Dkim.DkimKeyFiles(_data).Save("example.test", "s1", "PEM\n");
        await BackupAsync(_dir.Combine("backup"));
        var restored = _dir.Combine("restored");
        InstanceRestore.Run(_dir.Combine("backup"), restored, force: false);
        var file = new SecureMx.Dkim.DkimKeyFiles(restored).PathOf("example.test", "s1");
        Assert.Equal("PEM\n", File.ReadAllText(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(restored, "dkim")));
    }

    [Fact]
    public async Task AMessageWhoseSpoolFileIsGoneLeftTheQueueAndIsLeftOutOfTheBackup()
    {
        string kept, gone;
        using (var spool = OpenSpool(_data))
        {
            kept = await QueueAsync(spool, 400 * 1024);
            gone = await QueueAsync(spool, 400 * 1024);
        }
        // As when a delivery removes the message between the snapshot and the copy of its file.
        File.Delete(Path.Combine(_data, "spool", "data", gone));

        var manifest = await BackupAsync(_dir.Combine("backup"));

        Assert.Equal((1, 1, 1), (manifest.QueuedMessages, manifest.SpoolFiles, manifest.LeftQueueDuringBackup));
        var result = InstanceRestore.Run(_dir.Combine("backup"), _dir.Combine("restored"), force: false);
        Assert.Empty(result.MissingData);
        using var back = MessageSpool.OpenForReading(_dir.Combine("restored", "spool"), TimeProvider.System, NullLogger.Instance);
        Assert.Equal([kept], back.Queue.AllMessageIds());
    }

    [Fact]
    public async Task BackupRefusesAPathThatExists()
    {
        Directory.CreateDirectory(_dir.Combine("backup"));
        var ex = await Assert.ThrowsAsync<CliException>(() => BackupAsync(_dir.Combine("backup")));
        Assert.Contains("already exists", ex.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_dir.Combine("backup")));
    }

    [Fact]
    public async Task ABackupOnAFullDiskSaysSoAndLeavesNothing()
    {
        using (var spool = OpenSpool(_data))
            for (int i = 0; i < 6; i++) await QueueAsync(spool, 400 * 1024);
        var small = _dir.Combine("small");
        Directory.CreateDirectory(small);
        var (code, output) = await RunAsync("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", small);
        if (code != 0) Assert.Skip($"cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): {output}");
        try
        {
            var ex = await Assert.ThrowsAsync<CliException>(() => BackupAsync(Path.Combine(small, "backup")));
            Assert.StartsWith("disk full: ", ex.Message);
            Assert.Empty(Directory.EnumerateFileSystemEntries(small));
        }
        finally
        {
            if ((await RunAsync("umount", small)).ExitCode != 0) await RunAsync("umount", "-l", small);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = await p.StandardError.ReadToEndAsync() + await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, output);
    }

    [Fact]
    public async Task RestoreRefusesWhileAServerHoldsTheInstanceLock()
    {
        await BackupAsync(_dir.Combine("backup"));
        using var serving = SafeIo.TryLockExclusive(Path.Combine(_data, "spool", "serve.lock"));
        Assert.NotNull(serving);
        var ex = Assert.Throws<CliException>(() => InstanceRestore.Run(_dir.Combine("backup"), _data, force: true));
        Assert.Contains("is running", ex.Message);
    }

    [Fact]
    public async Task RestoreReplacesAnInstanceOnlyWithForceAndKeepsItsMaildirs()
    {
        await BackupAsync(_dir.Combine("backup"));
        string later;
        using (var spool = OpenSpool(_data)) later = await QueueAsync(spool, 3 * 1024);
        var maildir = Path.Combine(_data, "mail", "example.test", "alice", "cur");
        Directory.CreateDirectory(maildir);
        File.WriteAllText(Path.Combine(maildir, "1.M1.mx"), "kept");

        var ex = Assert.Throws<CliException>(() => InstanceRestore.Run(_dir.Combine("backup"), _data, force: false));
        Assert.Contains("--force", ex.Message);
        var other = _dir.Combine("other");
        Directory.CreateDirectory(other);
        File.WriteAllText(Path.Combine(other, "notes.txt"), "not an instance");
        Assert.Contains("not empty", Assert.Throws<CliException>(() => InstanceRestore.Run(_dir.Combine("backup"), other, force: false)).Message);

        var result = InstanceRestore.Run(_dir.Combine("backup"), _data, force: true);
        Assert.Equal(0, result.QueuedMessages);
        using var back = MessageSpool.OpenForReading(Path.Combine(_data, "spool"), TimeProvider.System, NullLogger.Instance);
        Assert.DoesNotContain(later, back.Queue.AllMessageIds());
        Assert.Equal("kept", File.ReadAllText(Path.Combine(maildir, "1.M1.mx")));
    }

    [Fact]
    public async Task RestoreReportsAQueuedMessageWhoseSpoolFileIsMissingFromTheBackup()
    {
        string id;
        using (var spool = OpenSpool(_data)) id = await QueueAsync(spool, 400 * 1024);
        await BackupAsync(_dir.Combine("backup"));
        File.Delete(_dir.Combine("backup", "spool", "data", id));

        var result = InstanceRestore.Run(_dir.Combine("backup"), _dir.Combine("restored"), force: false);

        Assert.Equal([id], result.MissingData);
    }

    [Fact]
    public void RestoreRefusesADirectoryThatIsNotABackup()
    {
        Directory.CreateDirectory(_dir.Combine("nothing"));
        Assert.Contains("not a SecureMx backup", Assert.Throws<CliException>(() => InstanceRestore.Run(_dir.Combine("nothing"), _dir.Combine("restored"), force: false)).Message);
    }
}
