using System.Text;
using SecureMx.Spool;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>
/// Storage failing under DATA and BDAT ("250 means durable"): a fault at each step of accepting a
/// message, injected through the spool's <see cref="DurableFiles"/> seam, gets the client a 4xx with an
/// enhanced code — 452 4.3.1 for a full disk, 451 4.3.0 otherwise — never a 250 and never silence; the
/// session goes on, nothing is left in spool/incoming or spool/data without an envelope, the queue holds
/// no half message, and every message that got its 250 is in the queue intact.
/// </summary>
public sealed class SmtpSessionStorageFaultTests
{
    public enum Transfer { Data, BdatLast, BdatChunks }

    private const int InlineSize = 20 * 1024; // received in memory: the commit is its only durable step
    private const int SpilledSize = 200 * 1024; // above MessageSpool.MemoryLimit: spilled to spool/incoming, then copied inline
    private const int DataFileSize = 300 * 1024; // above MessageSpool.InlineLimit: a data file

    private static byte[] Message(int n, int size)
    {
        var text = new StringBuilder($"From: <sender@remote.example>\r\nSubject: fault test {n}\r\n\r\n");
        while (text.Length < size) text.Append((char)('0' + n % 10), 76).Append("\r\n");
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    private static (int Code, string Enhanced) Expected(Errno errno) => errno == Errno.ENOSPC ? (452, "4.3.1") : (451, "4.3.0");

    private static async Task<TestReply> ReplyAsync(RawSmtpClient c)
    {
        var reply = await c.ReadReplyAsync();
        Assert.True(reply is not null, "the server closed the connection without a reply");
        return reply;
    }

    private static byte[] Bdat(ReadOnlySpan<byte> chunk, bool last) =>
        [.. Encoding.ASCII.GetBytes($"BDAT {chunk.Length}{(last ? " LAST" : "")}\r\n"), .. chunk];

    /// <summary>One transaction; returns the reply that decided it (to DATA, to the content, or to the chunk that failed).</summary>
    private static async Task<TestReply> SendAsync(RawSmtpClient c, Transfer transfer, byte[] content)
    {
        await c.CommandAsync("RSET", 250);
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
        switch (transfer)
        {
            case Transfer.Data:
                await c.SendAsync("DATA\r\n");
                var go = await ReplyAsync(c);
                if (go.Code != 354) return go;
                await c.SendAsync([.. content, .. ".\r\n"u8]);
                return await ReplyAsync(c);
            case Transfer.BdatLast:
                await c.SendAsync(Bdat(content, last: true));
                return await ReplyAsync(c);
            default:
                int third = content.Length / 3;
                int[] ends = [third, 2 * third, content.Length];
                for (int i = 0, start = 0; ; start = ends[i], i++)
                {
                    bool last = i == ends.Length - 1;
                    await c.SendAsync(Bdat(content.AsSpan(start, ends[i] - start), last));
                    var reply = await ReplyAsync(c);
                    if (last || reply.Code != 250) return reply; // after a failed chunk the client sends no more (RFC 3030 §2)
                }
        }
    }

    /// <summary>The queue holds exactly the acknowledged messages, intact; no data file without an envelope.</summary>
    private static void AssertSpoolHolds(SmtpTestServer server, Dictionary<string, byte[]> acked, string when)
    {
        var ids = server.Spool.Queue.AllMessageIds();
        Assert.True(acked.Keys.ToHashSet().SetEquals(ids), $"{when}: queued {string.Join(",", ids)}, acknowledged {string.Join(",", acked.Keys)}");
        Assert.All(server.DataFiles(), f => Assert.Contains(Path.GetFileName(f), ids));
        foreach (var (id, content) in acked)
        {
            var (envelope, recipients) = server.Spool.Queue.Load(id)!.Value;
            Assert.Equal(content.Length, envelope.Size);
            Assert.Equal(["alice@example.org"], recipients.Select(r => r.Recipient.Address));
            Assert.True(content.AsSpan().SequenceEqual(server.ReadMessage(id)), $"{when}: message {id} differs from what was sent");
        }
        Assert.Equal(acked.Keys.Order(), server.Arrivals.Ids.Order());
    }

    /// <summary>
    /// Where to fail: the first call of each step in each directory that a clean transfer went
    /// through, and a write in the middle of the transfer (bytes already in the file).
    /// </summary>
    private static List<(DurableStep Step, string Directory, int Nth)> FaultPoints(IReadOnlyList<SeenStep> steps)
    {
        var points = new List<(DurableStep, string, int)>();
        foreach (var group in steps.GroupBy(s => (s.Step, s.Directory)))
        {
            points.Add((group.Key.Step, group.Key.Directory, 1));
            if (group.Count() > 2) points.Add((group.Key.Step, group.Key.Directory, group.Count() / 2));
        }
        return points;
    }

    [Theory]
    [InlineData(Transfer.Data, InlineSize, Errno.ENOSPC)]
    [InlineData(Transfer.Data, InlineSize, Errno.EIO)]
    [InlineData(Transfer.Data, DataFileSize, Errno.ENOSPC)]
    [InlineData(Transfer.Data, DataFileSize, Errno.EIO)]
    [InlineData(Transfer.BdatLast, InlineSize, Errno.ENOSPC)]
    [InlineData(Transfer.BdatLast, InlineSize, Errno.EIO)]
    [InlineData(Transfer.BdatLast, DataFileSize, Errno.ENOSPC)]
    [InlineData(Transfer.BdatLast, DataFileSize, Errno.EIO)]
    [InlineData(Transfer.BdatChunks, InlineSize, Errno.ENOSPC)]
    [InlineData(Transfer.BdatChunks, InlineSize, Errno.EIO)]
    [InlineData(Transfer.BdatChunks, DataFileSize, Errno.ENOSPC)]
    [InlineData(Transfer.BdatChunks, DataFileSize, Errno.EIO)]
    [InlineData(Transfer.Data, SpilledSize, Errno.ENOSPC)]
    [InlineData(Transfer.Data, SpilledSize, Errno.EIO)]
    [InlineData(Transfer.BdatLast, SpilledSize, Errno.ENOSPC)]
    [InlineData(Transfer.BdatChunks, SpilledSize, Errno.EIO)]
    public async Task AFaultAtAnyStepGetsA4xxLeavesNothingAndTheSessionGoesOn(Transfer transfer, int size, Errno errno)
    {
        var plan = new StorageFaultPlan();
        await using var server = await SmtpTestServer.StartAsync(faults: plan);
        await using var c = await server.ConnectEhloAsync();
        var acked = new Dictionary<string, byte[]>();
        int n = 0;

        var clean = Message(n++, size);
        plan.ForgetSteps();
        var first = await SendAsync(c, transfer, clean);
        Assert.True(first.Code == 250, $"clean transfer: got {first}");
        acked[RawSmtpClient.QueueId(first)] = clean;
        var steps = plan.Steps;
        DurableStep[] protocol = size > MessageSpool.InlineLimit
            ? [DurableStep.Create, DurableStep.Write, DurableStep.Flush, DurableStep.SyncFile, DurableStep.Rename, DurableStep.SyncDirectory, DurableStep.Commit]
            : size > MessageSpool.MemoryLimit
                ? [DurableStep.Create, DurableStep.Write, DurableStep.Flush, DurableStep.Commit, DurableStep.Delete]
                : [DurableStep.Commit];
        Assert.Equal(protocol, steps.Select(s => s.Step).Distinct());

        var (code, enhanced) = Expected(errno);
        foreach (var (step, directory, nth) in FaultPoints(steps))
        {
            var when = $"{errno} at {step} #{nth} in {directory}";
            plan.Fail(step, errno, p => Path.GetDirectoryName(p) == directory, nth);
            var content = Message(n++, size);
            var reply = await SendAsync(c, transfer, content);
            if (step == DurableStep.Delete)
            {
                // Removing the inline copy comes after the commit: the message is durable and acknowledged;
                // the copy stays until the next start.
                Assert.True(reply.Code == 250, $"{when}: got {reply}");
                var id = RawSmtpClient.QueueId(reply);
                acked[id] = content;
                Assert.Equal([id], server.IncomingFiles().Select(Path.GetFileName));
                Assert.Equal(1, server.Spool.Recover());
            }
            else
            {
                Assert.True(reply.Code == code && reply.Enhanced == enhanced, $"{when}: expected {code} {enhanced}, got {reply}");
            }
            Assert.Empty(server.IncomingFiles());
            AssertSpoolHolds(server, acked, when);

            plan.Clear();
            var after = Message(n++, size);
            var next = await SendAsync(c, transfer, after);
            Assert.True(next.Code == 250, $"{when}, then cleared: got {next}");
            acked[RawSmtpClient.QueueId(next)] = after;
            AssertSpoolHolds(server, acked, when + ", then cleared");
        }
        await c.CommandAsync("QUIT", 221);
        await c.ExpectClosedAsync();
    }

    [Fact]
    public async Task RefusalsForAFullDiskDoNotCountTowardTheErrorLimitSoTheSessionOutlastsThem()
    {
        var plan = new StorageFaultPlan();
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.MaxErrors = 3, faults: plan);
        await using var c = await server.ConnectEhloAsync();
        plan.FailAlways(DurableStep.Commit, Errno.ENOSPC); // messages in memory meet the full disk at the commit
        Transfer[] transfers = [Transfer.Data, Transfer.BdatLast, Transfer.BdatChunks];
        for (int i = 0; i < 6; i++)
        {
            var reply = await SendAsync(c, transfers[i % 3], Message(i, InlineSize));
            Assert.True(reply.Code == 452 && reply.Enhanced == "4.3.1", $"transfer {i}: got {reply}");
        }
        plan.Clear();
        var after = await SendAsync(c, Transfer.Data, Message(9, InlineSize));
        Assert.True(after.Code == 250, $"after the disk has space again: got {after}");
    }

    [Fact]
    public async Task AFailedWriteRemovesThePartialFileAtOnceNotAtTheEndOfTheTransfer()
    {
        var plan = new StorageFaultPlan();
        await using var server = await SmtpTestServer.StartAsync(faults: plan);
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
        await c.CommandAsync("DATA", 354);
        var content = Message(1, 200 * 1024);
        await c.SendAsync(content[..(150 * 1024)]); // past MessageSpool.MemoryLimit: spilled to a file
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (server.IncomingFiles().Length == 0 && DateTime.UtcNow < deadline) await Task.Delay(10, TestContext.Current.CancellationToken);
        Assert.Single(server.IncomingFiles()); // the transfer is being written

        plan.FailAlways(DurableStep.Write, Errno.ENOSPC); // the disk fills up
        await c.SendAsync(content[(150 * 1024)..]);
        while (server.IncomingFiles().Length > 0 && DateTime.UtcNow < deadline) await Task.Delay(10, TestContext.Current.CancellationToken);
        Assert.Empty(server.IncomingFiles()); // gone while the client has not even finished

        await c.SendAsync(".\r\n");
        await c.ExpectAsync(452, "4.3.1");
        Assert.Empty(server.Spool.Queue.AllMessageIds());
    }

    [Fact]
    public async Task AFailedFirstBdatChunkFailsTheTransactionAndChunksPipelinedBehindItAreNeverStored()
    {
        var plan = new StorageFaultPlan();
        await using var server = await SmtpTestServer.StartAsync(faults: plan);
        await using var c = await server.ConnectEhloAsync();
        plan.Fail(DurableStep.Create, Errno.ENOSPC); // only the first file: the disk has space again for the second chunk
        // The first chunk is past MessageSpool.MemoryLimit: it spills to a file, whose creation fails.
        await c.SendAsync([.. "MAIL FROM:<sender@remote.example>\r\nRCPT TO:<alice@example.org>\r\n"u8,
            .. Bdat(Message(1, 140 * 1024), last: false), .. Bdat("second half\r\n"u8, last: true)]);
        await c.ExpectAsync(250, "2.1.0");
        await c.ExpectAsync(250, "2.1.5");
        await c.ExpectAsync(452, "4.3.1");
        await c.ExpectAsync(503, "5.5.1"); // no transaction any more: the second half is read and refused
        Assert.Empty(server.Spool.Queue.AllMessageIds());
        Assert.Empty(server.IncomingFiles());

        var id = await c.SendMessageAsync("sender@remote.example", ["alice@example.org"], "Subject: whole\r\n\r\nok\r\n"u8.ToArray());
        Assert.Equal([id], server.Spool.Queue.AllMessageIds());
    }

    [Fact]
    public async Task ALargeBdatChunkOnAFullDiskIsAnsweredAndTheConnectionClosesOnQuit()
    {
        var plan = new StorageFaultPlan();
        await using var server = await SmtpTestServer.StartAsync(faults: plan);
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
        plan.FailAlways(DurableStep.Write, Errno.ENOSPC);
        await c.SendAsync(Bdat(Message(1, 200_000).AsSpan(0, 200_000), last: true));
        await c.ExpectAsync(452, "4.3.1");
        Assert.Empty(server.IncomingFiles());
        await c.CommandAsync("QUIT", 221);
        await c.ExpectClosedAsync();
    }

    [Fact]
    public async Task AClientThatLeavesDuringAFailingBdatTransferLeavesNoFileBehind()
    {
        var plan = new StorageFaultPlan();
        await using var server = await SmtpTestServer.StartAsync(faults: plan);
        var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
        await c.SendAsync(Bdat(Message(1, 150_000).AsSpan(0, 150_000), last: false)); // past MessageSpool.MemoryLimit: a file
        await c.ExpectAsync(250, "2.0.0");
        Assert.Single(server.IncomingFiles());
        plan.FailAlways(DurableStep.Write, Errno.EIO);
        await c.SendAsync([.. "BDAT 100000 LAST\r\n"u8, .. Message(2, 50_000)]);
        await c.DisposeAsync(); // gone in the middle of the chunk

        await server.StopAsync(); // waits for the session to end
        Assert.Empty(server.IncomingFiles());
        Assert.Empty(server.Spool.Queue.AllMessageIds());
    }
}
