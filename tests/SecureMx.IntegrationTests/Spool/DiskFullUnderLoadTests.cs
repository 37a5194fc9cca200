using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Spool;

/// <summary>
/// The disk-full run of issue 13: a server whose whole data directory is a small tmpfs, 20 concurrent
/// sessions (half DATA, half BDAT through a raw socket) sending messages of every size while a filler
/// file takes the last free byte and keeps it for a while. Every 250 ends in its Maildir (by message
/// id), every other transfer is answered 4xx (never a dropped connection or a hang), nothing stays in
/// spool/incoming, no server socket outlives its client, and once the filler is gone the same server
/// takes mail again. The free-space guard is off (limits.minFreeDiskMb = 0), so that the real ENOSPC
/// paths (writes, flushes, fsyncs, SQLite's commit) are what refuses.
/// </summary>
public sealed class DiskFullUnderLoadTests(ITestOutputHelper output)
{
    private static readonly string[] Mailboxes = ["alice@example.test", "bob@example.test", "carol@example.test", "dave@example.test"];
    // Inline (≤ 256 KiB, copied into the queue database) and data-file sizes.
    private static readonly int[] Sizes = [1024, 8 * 1024, 40 * 1024, 120 * 1024, 300 * 1024];
    private const int Sessions = 20;
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(100); // between one client's transactions

    private sealed class Tally
    {
        public readonly ConcurrentDictionary<string, string> Accepted = new(); // token → mailbox
        public readonly ConcurrentBag<string> Refused = new();                  // "kind reply"
        public readonly ConcurrentBag<string> Failures = new();                 // dropped, hung or unexpected
        public int DataAccepted, BdatAccepted, DataRefused, BdatRefused;
    }

    private static byte[] Message(string token, string to, int size)
    {
        var text = new StringBuilder($"From: <sender@elsewhere.test>\r\nTo: <{to}>\r\nSubject: {token}\r\nMessage-ID: <{token}@elsewhere.test>\r\n\r\n");
        while (text.Length < size) text.Append('d', 78).Append("\r\n");
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    /// <summary>One client: transactions on one connection until told to stop, a new connection when the server closed the old one with 421.</summary>
    private static async Task ClientAsync(IPEndPoint mx, int index, bool bdat, Tally tally, CancellationToken stop)
    {
        var to = Mailboxes[index % Mailboxes.Length];
        var kind = bdat ? "BDAT" : "DATA";
        RawSmtp? smtp = null;
        for (int n = 0; !stop.IsCancellationRequested; n++)
        {
            var token = $"load-{kind}-{index}-{n}-{Guid.NewGuid():N}"[..40];
            try
            {
                if (smtp is null)
                {
                    smtp = await RawSmtp.ConnectAsync(mx);
                    Expect("220", string.Join("\n", await smtp.ReadReplyAsync()));
                    Expect("250", await smtp.CommandAsync("EHLO load.elsewhere.test"));
                }
                var reply = await smtp.CommandAsync("MAIL FROM:<sender@elsewhere.test>");
                if (reply.StartsWith('2')) reply = await smtp.CommandAsync($"RCPT TO:<{to}>");
                if (reply.StartsWith('2'))
                {
                    var message = Message(token, to, Sizes[(index + n) % Sizes.Length]);
                    reply = bdat ? await BdatAsync(smtp, message, chunks: 1 + n % 3) : await DataAsync(smtp, message);
                }
                if (reply.StartsWith("250", StringComparison.Ordinal))
                {
                    tally.Accepted[token] = to;
                    Interlocked.Increment(ref bdat ? ref tally.BdatAccepted : ref tally.DataAccepted);
                    await Task.Delay(Pace, CancellationToken.None); // the mail itself must not fill the disk
                    continue;
                }
                if (!reply.StartsWith('4'))
                {
                    tally.Failures.Add($"{token}: not a 4xx: {reply}");
                    continue;
                }
                tally.Refused.Add($"{kind} {reply[..Math.Min(9, reply.Length)]}");
                await Task.Delay(Pace, CancellationToken.None);
                Interlocked.Increment(ref bdat ? ref tally.BdatRefused : ref tally.DataRefused);
                if (reply.StartsWith("421", StringComparison.Ordinal))
                {
                    await smtp.DisposeAsync();
                    smtp = null;
                }
                else if (await smtp.CommandAsync("RSET") is var rset && !rset.StartsWith("250", StringComparison.Ordinal))
                {
                    // The refusal was answered, but the session did not survive it (421 at the error limit).
                    tally.Failures.Add($"{token}: session ended after the refusal: {rset}");
                    await smtp.DisposeAsync();
                    smtp = null;
                }
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or System.Net.Sockets.SocketException or InvalidDataException)
            {
                // A dropped connection or a reply that never came: exactly what must not happen.
                tally.Failures.Add($"{token}: {ex.GetType().Name}: {ex.Message}");
                if (smtp is not null) await smtp.DisposeAsync();
                smtp = null;
            }
        }
        if (smtp is not null)
        {
            try { await smtp.CommandAsync("QUIT"); } catch (IOException) { }
            await smtp.DisposeAsync();
        }
    }

    private static void Expect(string code, string reply)
    {
        if (!reply.StartsWith(code, StringComparison.Ordinal)) throw new InvalidDataException($"expected {code}, got {reply}");
    }

    private static async Task<string> DataAsync(RawSmtp smtp, byte[] message)
    {
        var reply = await smtp.CommandAsync("DATA");
        if (!reply.StartsWith("354", StringComparison.Ordinal)) return reply;
        await smtp.SendAsync([.. message, .. ".\r\n"u8]);
        return string.Join("\n", await smtp.ReadReplyAsync(TimeSpan.FromSeconds(60)));
    }

    private static async Task<string> BdatAsync(RawSmtp smtp, byte[] message, int chunks)
    {
        int size = message.Length / chunks;
        for (int i = 0; ; i++)
        {
            bool last = i == chunks - 1;
            var chunk = message.AsSpan(i * size, last ? message.Length - i * size : size).ToArray();
            await smtp.SendAsync([.. Encoding.ASCII.GetBytes($"BDAT {chunk.Length}{(last ? " LAST" : "")}\r\n"), .. chunk]);
            var reply = string.Join("\n", await smtp.ReadReplyAsync(TimeSpan.FromSeconds(60)));
            if (last || !reply.StartsWith("250", StringComparison.Ordinal)) return reply;
        }
    }

    /// <summary>Fills the file system with <paramref name="filler"/> and keeps it full (the spool frees space as it delivers) until cancelled.</summary>
    private static async Task<long> FillAsync(string filler, CancellationToken release)
    {
        var block = new byte[256 * 1024];
        Array.Fill(block, (byte)'f');
        await using var file = new FileStream(filler, FileMode.Create, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        while (!release.IsCancellationRequested)
        {
            try
            {
                file.Write(block);
            }
            catch (IOException)
            {
                // Full. Take smaller bites of whatever is freed, without spinning.
                try { file.Write(block.AsSpan(0, 4096)); } catch (IOException) { }
                try { await Task.Delay(20, release); } catch (OperationCanceledException) { }
            }
        }
        return file.Length;
    }

    private static HashSet<string> DeliveredTokens(SecureMxInstance mx, out List<string> duplicates)
    {
        var tokens = new HashSet<string>(StringComparer.Ordinal);
        duplicates = [];
        foreach (var box in Mailboxes)
        {
            foreach (var file in mx.Messages(box))
            {
                string text;
                try { text = File.ReadAllText(file); } catch (FileNotFoundException) { continue; }
                var id = Regex.Match(text, @"Message-ID: <([^@>]+)@elsewhere\.test>");
                if (!id.Success) continue;
                if (!tokens.Add(id.Groups[1].Value + " " + box)) duplicates.Add(id.Groups[1].Value);
            }
        }
        return tokens;
    }

    /// <summary>The server's own TCP sockets to clients (not its listening socket), in any state, from ss(8).</summary>
    private static async Task<string[]> ServerConnectionsAsync(IPEndPoint listener)
    {
        var ss = await Run.ProcessAsync("ss", ["-Htan", "state", "all", "src", Net.Text(listener)]);
        Assert.True(ss.ExitCode == 0, ss.All);
        return ss.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => !l.StartsWith("LISTEN", StringComparison.Ordinal) && !l.StartsWith("TIME-WAIT", StringComparison.Ordinal)).ToArray();
    }

    /// <param name="fileSystem">tmpfs (a write fails at once) or ext4 on a loop device (page cache, delayed allocation, journal).</param>
    [Theory]
    [InlineData("tmpfs")]
    [InlineData("ext4")]
    public async Task TwentySessionsWhileTheDiskFillsGet250AndDeliveryOr4xxAndNothingLeaksAndMailFlowsAgainAfterwards(string fileSystem)
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", Mailboxes, cfg =>
        {
            cfg["limits"]!["minFreeDiskMb"] = 0; // the real ENOSPC paths, not the guard
            cfg["delivery"]!["localRetrySeconds"] = 1;
        });
        await using IAsyncDisposable mount = fileSystem == "tmpfs"
            ? await TmpfsMount.MountAsync(mx.DataDir, "384m")
            : await Ext4LoopMount.MountAsync(mx.DataDir, 384);
        var incoming = Path.Combine(mx.DataDir, "spool", "incoming");
        var filler = Path.Combine(mx.DataDir, "filler");
        var tally = new Tally();
        await mx.StartAsync();
        try
        {
            using var stopClients = new CancellationTokenSource();
            var clients = Enumerable.Range(0, Sessions).Select(i => Task.Run(() => ClientAsync(mx.Mx, i, bdat: i % 2 == 1, tally, stopClients.Token))).ToArray();
            await Task.Delay(TimeSpan.FromSeconds(2));
            int refusedBeforeFull = tally.Refused.Count;
            int acceptedBeforeFull = tally.Accepted.Count;

            using var release = new CancellationTokenSource(TimeSpan.FromSeconds(12));
            long filled = await FillAsync(filler, release.Token);
            int acceptedWhileFull = tally.Accepted.Count - acceptedBeforeFull;
            int refusedWhileFull = tally.Refused.Count - refusedBeforeFull;
            File.Delete(filler);

            await Task.Delay(TimeSpan.FromSeconds(4)); // space is back: the same sessions go on
            stopClients.Cancel();
            var allClients = Task.WhenAll(clients);
            Assert.True(await Task.WhenAny(allClients, Task.Delay(TimeSpan.FromSeconds(120))) == allClients, "a client hung: the server neither answered nor closed");
            await allClients;

            var refusals = tally.Refused.GroupBy(r => r).Select(g => $"{g.Key}: {g.Count()}");
            output.WriteLine($"disk-full run on {fileSystem}: {Sessions} sessions, filler {filled / 1024 / 1024} MiB; " +
                $"accepted {tally.Accepted.Count} (DATA {tally.DataAccepted}, BDAT {tally.BdatAccepted}; {acceptedBeforeFull} before the disk filled, {acceptedWhileFull} while it was full), " +
                $"refused 4xx {tally.Refused.Count} (DATA {tally.DataRefused}, BDAT {tally.BdatRefused}; {refusedWhileFull} while full), " +
                $"dropped or unexpected {tally.Failures.Count}");
            output.WriteLine("refusals: " + string.Join(", ", refusals));
            foreach (var f in tally.Failures.Take(20)) output.WriteLine("failure: " + f);

            Assert.Equal(0, refusedBeforeFull); // the mail alone must not fill the disk
            Assert.True(tally.Failures.IsEmpty, $"{tally.Failures.Count} transfers without a 4xx or 250 answer, e.g. {string.Join("; ", tally.Failures.Take(5))}\n{Tail(mx.Log)}");
            Assert.True(refusedWhileFull > 0, "the disk never filled: the run proves nothing"); // the run must have hit ENOSPC
            // 452 or 451, never 421: a full disk does not count toward limits.maxErrors, so it never closes a session.
            Assert.All(tally.Refused, r => Assert.Matches("^(DATA|BDAT) (452 4\\.3\\.1|451 4\\.3\\.0)", r));

            // No server socket outlives its client.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            string[] open;
            while ((open = await ServerConnectionsAsync(mx.Mx)).Length > 0 && DateTime.UtcNow < deadline) await Task.Delay(200);
            var leftIncoming = Directory.GetFiles(incoming);
            output.WriteLine($"after the clients closed: {open.Length} server connection(s) left, {leftIncoming.Length} file(s) in spool/incoming");
            Assert.True(open.Length == 0, "server connections left after every client closed:\n" + string.Join("\n", open));
            Assert.Empty(leftIncoming);

            // Mail flows again on the same server, without a restart.
            await using (var after = await RawSmtp.ConnectAsync(mx.Mx))
            {
                await after.ReadReplyAsync();
                await after.CommandAsync("EHLO after.elsewhere.test");
                Assert.StartsWith("250", await after.CommandAsync("MAIL FROM:<sender@elsewhere.test>"));
                Assert.StartsWith("250", await after.CommandAsync("RCPT TO:<alice@example.test>"));
                var reply = await DataAsync(after, Message("after-the-disk-was-full", "alice@example.test", 4096));
                Assert.True(reply.StartsWith("250 2.0.0", StringComparison.Ordinal), reply + "\n" + Tail(mx.Log));
                await after.CommandAsync("QUIT");
            }
            await mx.WaitForMessageAsync("alice@example.test", "after-the-disk-was-full", TimeSpan.FromSeconds(60));

            // Every 250 is in its Maildir, once; nothing refused is.
            var expected = tally.Accepted.Select(a => a.Key + " " + a.Value).Append("after-the-disk-was-full alice@example.test").ToHashSet(StringComparer.Ordinal);
            HashSet<string> delivered;
            List<string> duplicates;
            var until = DateTime.UtcNow.AddSeconds(90);
            while (!(delivered = DeliveredTokens(mx, out duplicates)).IsSupersetOf(expected) && DateTime.UtcNow < until) await Task.Delay(500);
            var missing = expected.Except(delivered).ToList();
            var unexpected = delivered.Except(expected).ToList();
            output.WriteLine($"delivered {delivered.Count} of {expected.Count} accepted; missing {missing.Count}, not acknowledged but delivered {unexpected.Count}, duplicates {duplicates.Count}");
            Assert.True(missing.Count == 0, $"acknowledged but not delivered: {string.Join(", ", missing.Take(10))}\n{Tail(mx.Log)}");
            Assert.Empty(unexpected);
            // Duplicates are not asserted: a Maildir delivery whose state commit fails on the full disk is
            // delivered again (at least once, never lost; the queue's business). The figure is printed above.
            await mx.WaitForLogAsync("disk full");
            Assert.Equal(0, await mx.StopAsync());
        }
        finally
        {
            await mx.StopAsync(); // before the tmpfs goes: nothing may hold a file on it
        }
    }

    private static string Tail(string log) => log.Length <= 6000 ? log : log[^6000..];
}
