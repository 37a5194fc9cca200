using System.Text;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>BDAT / CHUNKING (RFC 3030) over a real socket.</summary>
public sealed class SmtpSessionBdatTests
{
    private static byte[] B(string s) => Encoding.Latin1.GetBytes(s);

    private static byte[] Bdat(string chunk, bool last = false) =>
        B($"BDAT {Encoding.Latin1.GetByteCount(chunk)}{(last ? " LAST" : "")}\r\n" + chunk);

    private static async Task<RawSmtpClient> StartTransactionAsync(SmtpTestServer server)
    {
        var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
        return c;
    }

    private static async Task AssertNothingCommittedAsync(SmtpTestServer server)
    {
        await server.StopAsync();
        Assert.Empty(server.DataFiles());
        Assert.Empty(server.Spool.Queue.AllMessageIds());
        Assert.Empty(server.Arrivals.Ids);
    }

    [Fact]
    public async Task SingleLastChunkIsStoredByteExactWithoutUnstuffing()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await StartTransactionAsync(server);
        var content = "Subject: bdat\r\n\r\n..not stuffed\r\n.\r\nafter a lone dot\r\n";
        await c.SendAsync(Bdat(content, last: true));
        var id = RawSmtpClient.QueueId(await c.ExpectAsync(250, "2.0.0"));
        Assert.Equal(B(content), server.ReadMessage(id));
        Assert.Equal(content.Length, server.Spool.Queue.Load(id)!.Value.Envelope.Size);
        Assert.Equal([id], server.Arrivals.Ids);
    }

    [Fact]
    public async Task MultipleChunksAreStoredByteExact()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await StartTransactionAsync(server);
        string[] chunks = ["Subject: chunks\r\n\r\npart one\r", "\npart two\r\n", "\u00e9\u00ff binary-ish\r\n", "tail\r\n"];
        for (int i = 0; i < chunks.Length - 1; i++)
        {
            await c.SendAsync(Bdat(chunks[i]));
            var reply = await c.ExpectAsync(250, "2.0.0");
            Assert.Contains($"{Encoding.Latin1.GetByteCount(chunks[i])} octets received", reply.Text, StringComparison.Ordinal);
        }
        await c.SendAsync(Bdat(chunks[^1], last: true));
        var id = RawSmtpClient.QueueId(await c.ExpectAsync(250, "2.0.0"));
        Assert.Equal(B(string.Concat(chunks)), server.ReadMessage(id));
    }

    [Fact]
    public async Task EmptyLastChunkEndsTheMessage()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await StartTransactionAsync(server);
        await c.SendAsync(Bdat("Subject: x\r\n\r\nbody\r\n"));
        await c.ExpectAsync(250, "2.0.0");
        await c.SendAsync("BDAT 0 LAST\r\n");
        var id = RawSmtpClient.QueueId(await c.ExpectAsync(250, "2.0.0"));
        Assert.Equal(B("Subject: x\r\n\r\nbody\r\n"), server.ReadMessage(id));
    }

    [Fact]
    public async Task WholePipelinedBdatTransactionInOneWrite()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        var content = "Subject: p\r\n\r\nhello\r\n";
        await c.SendAsync(B("MAIL FROM:<sender@remote.example>\r\nRCPT TO:<bob@example.org>\r\n")
            .Concat(Bdat(content[..5])).Concat(Bdat(content[5..], last: true)).Concat(B("QUIT\r\n")).ToArray());
        await c.ExpectAsync(250, "2.1.0");
        await c.ExpectAsync(250, "2.1.5");
        await c.ExpectAsync(250, "2.0.0");
        var id = RawSmtpClient.QueueId(await c.ExpectAsync(250, "2.0.0"));
        await c.ExpectAsync(221);
        await c.ExpectClosedAsync();
        Assert.Equal(B(content), server.ReadMessage(id));
    }

    [Theory]
    [InlineData("BDAT abc")]
    [InlineData("BDAT")]
    [InlineData("BDAT -5")]
    [InlineData("BDAT 5 FIRST")]
    [InlineData("BDAT 5 LAST more")]
    [InlineData("BDAT 1234567890123456789")]
    public async Task BdatWithBadSizeIs501AndClosesTheConnection(string line)
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await StartTransactionAsync(server);
        await c.SendAsync(line + "\r\n");
        await c.ExpectAsync(501, "5.5.4");
        await c.ExpectClosedAsync();
        await AssertNothingCommittedAsync(server);
    }

    [Fact]
    public async Task BdatWithoutMailReadsAndDiscardsTheChunk()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.SendAsync(Bdat("NOOP\r\nNOOP\r\n", last: true));
        await c.ExpectAsync(503, "5.5.1");
        await c.CommandAsync("QUIT", 221); // the chunk's "NOOP"s were content, not commands
    }

    [Fact]
    public async Task BdatBeforeEhloIs503()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectAsync();
        await c.SendAsync(Bdat("x", last: true));
        await c.ExpectAsync(503, "5.5.1");
        await c.CommandAsync("NOOP", 250);
    }

    [Fact]
    public async Task BdatWithoutAcceptedRecipientIs554()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        await c.CommandAsync("RCPT TO:<nobody@example.org>", 550);
        await c.SendAsync(Bdat("Subject: x\r\n\r\nx\r\n", last: true));
        await c.ExpectAsync(554, "5.5.1");
        await c.CommandAsync("NOOP", 250);
        await AssertNothingCommittedAsync(server);
    }

    [Theory]
    [InlineData("a\nb\r\n")]
    [InlineData("a\rb\r\n")]
    [InlineData("a\r\r\n")]
    [InlineData("ends with cr\r")]
    public async Task BareLineEndingInBdatIs554_5_6_0(string content)
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await StartTransactionAsync(server);
        await c.SendAsync(Bdat(content, last: true));
        await c.ExpectAsync(554, "5.6.0");
        await c.CommandAsync("NOOP", 250);
        await c.CommandAsync("RCPT TO:<alice@example.org>", 503, "5.5.1");
        await AssertNothingCommittedAsync(server);
    }

    [Theory]
    [InlineData("line\r", "x\r\n")]
    [InlineData("line\n", "x\r\n")]
    [InlineData("line", "\nx\r\n")]
    [InlineData("line\r", "\rx\r\n")]
    public async Task BareLineEndingAcrossChunksIs554_5_6_0(string first, string second)
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await StartTransactionAsync(server);
        await c.SendAsync(Bdat(first));
        await c.ExpectAsync(250, "2.0.0");
        await c.SendAsync(Bdat(second, last: true));
        await c.ExpectAsync(554, "5.6.0");
        await AssertNothingCommittedAsync(server);
    }

    [Fact]
    public async Task CrLfSplitAcrossChunksIsAccepted()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await StartTransactionAsync(server);
        await c.SendAsync(Bdat("a\r"));
        await c.ExpectAsync(250, "2.0.0");
        await c.SendAsync(Bdat("\nb\r\n", last: true));
        var id = RawSmtpClient.QueueId(await c.ExpectAsync(250, "2.0.0"));
        Assert.Equal(B("a\r\nb\r\n"), server.ReadMessage(id));
    }

    [Fact]
    public async Task BdatOverTheSizeLimitIs552()
    {
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.MaxMessageSize = 100);
        await using var c = await StartTransactionAsync(server);
        await c.SendAsync(Bdat(new string('a', 60) + "\r\n"));
        await c.ExpectAsync(250, "2.0.0");
        await c.SendAsync(Bdat(new string('b', 60) + "\r\n", last: true));
        await c.ExpectAsync(552, "5.3.4");
        await c.CommandAsync("NOOP", 250);
        await AssertNothingCommittedAsync(server);
    }

    [Fact]
    public async Task DataAfterBdatIs503()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await StartTransactionAsync(server);
        await c.SendAsync(Bdat("Subject: x\r\n"));
        await c.ExpectAsync(250, "2.0.0");
        await c.CommandAsync("DATA", 503, "5.5.1");
        await c.CommandAsync("RCPT TO:<bob@example.org>", 503, "5.5.1");
        await c.SendAsync(Bdat("\r\nbody\r\n", last: true));
        var id = RawSmtpClient.QueueId(await c.ExpectAsync(250, "2.0.0"));
        Assert.Equal(B("Subject: x\r\n\r\nbody\r\n"), server.ReadMessage(id));
    }

    [Fact]
    public async Task RsetDuringBdatDiscardsTheChunks()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await StartTransactionAsync(server);
        await c.SendAsync(Bdat("Subject: x\r\n"));
        await c.ExpectAsync(250, "2.0.0");
        await c.CommandAsync("RSET", 250);
        await c.SendAsync(Bdat("more\r\n", last: true));
        await c.ExpectAsync(503, "5.5.1");
        await AssertNothingCommittedAsync(server);
    }

    [Fact]
    public async Task ClientVanishingBetweenChunksLeavesNothingBehind()
    {
        await using var server = await SmtpTestServer.StartAsync();
        var c = await StartTransactionAsync(server);
        await c.SendAsync(Bdat("Subject: x\r\n"));
        await c.ExpectAsync(250, "2.0.0");
        await c.SendAsync("BDAT 100 LAST\r\nonly part");
        await c.DisposeAsync();
        await AssertNothingCommittedAsync(server);
    }
}
