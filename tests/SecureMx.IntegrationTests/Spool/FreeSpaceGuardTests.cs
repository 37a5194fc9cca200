using System.Text;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Spool;

/// <summary>
/// The free-space guard on a real file system: a data directory on a 64 MiB tmpfs, where the floor is
/// 5 % of it (3.2 MiB, below the default limits.minFreeDiskMb of 512). Filled to within 1 MiB, the
/// server answers MAIL FROM with 452 4.3.1 before any content, logs the low disk once, and takes
/// mail again by itself once the space is back.
/// </summary>
public sealed class FreeSpaceGuardTests
{
    [Fact]
    public async Task BelowTheFloorMailFromGets452AndOnceSpaceReturnsMailIsAcceptedWithoutARestart()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"]); // limits.minFreeDiskMb: the default
        await using var tmpfs = await TmpfsMount.MountAsync(mx.DataDir, "64m");
        var filler = Path.Combine(mx.DataDir, "filler");
        await mx.StartAsync();
        try
        {
            await using var smtp = await RawSmtp.ConnectAsync(mx.Mx);
            await smtp.ReadReplyAsync();
            await smtp.CommandAsync("EHLO client.elsewhere.test");
            Assert.StartsWith("250", await smtp.CommandAsync("MAIL FROM:<sender@elsewhere.test>"));
            Assert.StartsWith("250", await smtp.CommandAsync("RSET"));

            await using (var file = new FileStream(filler, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                var block = new byte[1024 * 1024];
                try { while (true) file.Write(block); } catch (IOException) { }
                file.SetLength(Math.Max(0, file.Length - 1024 * 1024)); // 1 MiB free: below the 3.2 MiB floor
            }
            await Task.Delay(TimeSpan.FromSeconds(2.5)); // past the guard's cached reading

            var refused = await smtp.CommandAsync("MAIL FROM:<sender@elsewhere.test>");
            Assert.True(refused.StartsWith("452 4.3.1", StringComparison.Ordinal), refused + "\n" + mx.Log);
            Assert.StartsWith("503", await smtp.CommandAsync("RCPT TO:<alice@example.test>")); // no transaction: no content will come
            Assert.Empty(Directory.GetFiles(Path.Combine(mx.DataDir, "spool", "incoming")));
            await mx.WaitForLogAsync("below the floor");

            File.Delete(filler);
            await Task.Delay(TimeSpan.FromSeconds(2.5));
            Assert.StartsWith("250", await smtp.CommandAsync("MAIL FROM:<sender@elsewhere.test>"));
            Assert.StartsWith("250", await smtp.CommandAsync("RCPT TO:<alice@example.test>"));
            Assert.StartsWith("354", await smtp.CommandAsync("DATA"));
            await smtp.SendAsync(Encoding.ASCII.GetBytes("Subject: space-is-back\r\n\r\nhello\r\n.\r\n"));
            Assert.StartsWith("250 2.0.0", string.Join("\n", await smtp.ReadReplyAsync()));
            await mx.WaitForMessageAsync("alice@example.test", "space-is-back");
            Assert.StartsWith("221", await smtp.CommandAsync("QUIT"));
            await mx.WaitForLogAsync("above the floor");
            Assert.Equal(0, await mx.StopAsync());
        }
        finally
        {
            await mx.StopAsync(); // before the tmpfs goes: nothing may hold a file on it
        }
    }
}
