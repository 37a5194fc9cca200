using System.Text;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Spool;

/// <summary>
/// A real server whose spool lies on a 16 MiB tmpfs: messages larger than the free space, by DATA, by
/// BDAT (one chunk and several) and by `securemx sendmail`, are refused with 452 4.3.1 (exit 1 for
/// sendmail), their partial files leave spool/incoming at once, the log says "disk full" with the
/// path, and the same connection goes on; the messages that fit are delivered.
/// </summary>
public sealed class DiskFullTests
{
    private const int TooBig = 24 * 1024 * 1024; // more than the tmpfs holds, less than limits.maxMessageSize

    private static byte[] Message(string token, int size)
    {
        var text = new StringBuilder($"From: <sender@elsewhere.test>\r\nTo: <alice@example.test>\r\nSubject: {token}\r\n\r\n");
        while (text.Length < size) text.Append('m', 78).Append("\r\n");
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    private static async Task TransactionAsync(RawSmtp smtp)
    {
        Assert.StartsWith("250", await smtp.CommandAsync("MAIL FROM:<sender@elsewhere.test>"));
        Assert.StartsWith("250", await smtp.CommandAsync("RCPT TO:<alice@example.test>"));
    }

    private static async Task<string> DataAsync(RawSmtp smtp, byte[] message)
    {
        await TransactionAsync(smtp);
        Assert.StartsWith("354", await smtp.CommandAsync("DATA"));
        await smtp.SendAsync([.. message, .. ".\r\n"u8]);
        return string.Join("\n", await smtp.ReadReplyAsync(TimeSpan.FromSeconds(60)));
    }

    /// <summary>BDAT in <paramref name="chunks"/> chunks; the reply that decided the transaction.</summary>
    private static async Task<string> BdatAsync(RawSmtp smtp, byte[] message, int chunks)
    {
        await TransactionAsync(smtp);
        int size = message.Length / chunks;
        for (int i = 0; i < chunks; i++)
        {
            bool last = i == chunks - 1;
            var chunk = message.AsSpan(i * size, last ? message.Length - i * size : size).ToArray();
            await smtp.SendAsync([.. Encoding.ASCII.GetBytes($"BDAT {chunk.Length}{(last ? " LAST" : "")}\r\n"), .. chunk]);
            var reply = string.Join("\n", await smtp.ReadReplyAsync(TimeSpan.FromSeconds(60)));
            if (last || !reply.StartsWith("250", StringComparison.Ordinal)) return reply;
        }
        throw new InvalidOperationException("unreachable");
    }

    [Fact]
    public async Task MessagesLargerThanTheFreeSpaceGet452AndLeaveNothingWhileThoseThatFitAreDelivered()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"]);
        var spool = Path.Combine(mx.DataDir, "spool");
        await using var tmpfs = await TmpfsMount.MountAsync(spool, "16m");
        var incoming = Path.Combine(spool, "incoming");
        await mx.StartAsync();
        try
        {
            await using var smtp = await RawSmtp.ConnectAsync(mx.Mx);
            await smtp.ReadReplyAsync();
            await smtp.CommandAsync("EHLO client.elsewhere.test");
            async Task FitsAsync(string token, Func<byte[], Task<string>> send, int size = 4096)
            {
                var reply = await send(Message(token, size));
                Assert.True(reply.StartsWith("250 2.0.0", StringComparison.Ordinal), $"{token}: {reply}\n{mx.Log}");
                await mx.WaitForMessageAsync("alice@example.test", token); // delivered before the disk fills again
            }
            async Task TooBigAsync(string what, Func<byte[], Task<string>> send)
            {
                var reply = await send(Message(what, TooBig));
                Assert.True(reply.StartsWith("452 4.3.1", StringComparison.Ordinal), $"{what}: {reply}\n{mx.Log}");
                Assert.Empty(Directory.GetFiles(incoming)); // removed when the write failed, not at the next start
            }

            await FitsAsync("fits-before", m => DataAsync(smtp, m));
            await TooBigAsync("too-big-data", m => DataAsync(smtp, m));
            await FitsAsync("fits-after-data", m => DataAsync(smtp, m));
            await TooBigAsync("too-big-bdat-last", m => BdatAsync(smtp, m, chunks: 1));
            await FitsAsync("fits-after-bdat-last", m => BdatAsync(smtp, m, chunks: 1), size: 1024 * 1024); // a data file, on the same tmpfs
            await TooBigAsync("too-big-bdat-chunks", m => BdatAsync(smtp, m, chunks: 3));
            await FitsAsync("fits-after-bdat-chunks", m => BdatAsync(smtp, m, chunks: 3));

            var sendmail = await Run.ProcessAsync("dotnet", [Run.SecureMxDll, "sendmail", "--data", mx.DataDir, "alice@example.test"],
                stdin: Encoding.ASCII.GetString(Message("too-big-sendmail", TooBig)));
            Assert.Equal(1, sendmail.ExitCode);
            Assert.StartsWith("securemx: disk full: ", sendmail.StdErr, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(incoming));

            await FitsAsync("fits-at-the-end", m => DataAsync(smtp, m));
            Assert.StartsWith("221", await smtp.CommandAsync("QUIT"));
            await mx.WaitForLogAsync("disk full");
            await mx.WaitForLogAsync(incoming + "/");
            foreach (var file in mx.Messages("alice@example.test"))
            {
                var text = Encoding.ASCII.GetString(await File.ReadAllBytesAsync(file));
                Assert.DoesNotContain("Subject: too-big", text); // nothing refused was delivered
            }
            Assert.Equal(0, await mx.StopAsync());
        }
        finally
        {
            await mx.StopAsync(); // before the tmpfs goes: nothing may hold a file on it
        }
    }
}
