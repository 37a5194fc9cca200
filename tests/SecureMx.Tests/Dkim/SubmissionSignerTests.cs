using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Dkim;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dkim;

/// <summary>
/// Signing at submission, through the spool: a message in memory and one spilled to a file are signed into a
/// new spool file whose queued bytes verify; 8-bit content is converted to 7-bit first (and the envelope says
/// so); no active key for the From: domain leaves the message alone; a key that cannot be read is an error
/// the caller answers with a temporary failure.
/// </summary>
public sealed class SubmissionSignerTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly TestStore _store;
    private readonly MessageSpool _spool;
    private readonly MessageAcceptor _acceptor;
    private readonly DkimTestKeys _keys = new();
    private readonly DkimKeyRepository _repository;
    private readonly SubmissionSigner _signer;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 1, 0, 0, TimeSpan.Zero));

    private static readonly MailParameters SevenBit = new(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null);

    public SubmissionSignerTests()
    {
        _store = new TestStore(_time);
        _store.Mailboxes.AddDomain("example.org");
        _repository = new DkimKeyRepository(_store.Database, _time);
        _spool = new MessageSpool(_dir.Combine("spool"), TimeProvider.System, NullLogger.Instance);
        _acceptor = new MessageAcceptor(_spool, arrivals: null, TimeProvider.System, NullLogger.Instance);
        _signer = new SubmissionSigner(_repository, _keys, _time);
    }

    public void Dispose()
    {
        using (var c = _spool.Queue.OpenRead()) SqliteConnection.ClearPool(c);
        _spool.Dispose();
        _store.Dispose();
        _dir.Dispose();
    }

    private DkimKey AddKey(string selector, DkimAlgorithm algorithm, DkimKeyState state = DkimKeyState.Active)
    {
        var key = _keys.Make("example.org", selector, algorithm, state);
        _repository.Add(key);
        return key;
    }

    private static string Message(string from, int bodyLines, string body = "a line of the body, quite ordinary")
    {
        var b = new System.Text.StringBuilder($"From: {from}\r\nTo: bob@example.net\r\nSubject: hi\r\nDate: Sun, 06 Dec 2026 01:00:00 +0000\r\nMessage-ID: <x@example.org>\r\n\r\n");
        for (int i = 0; i < bodyLines; i++) b.Append(body).Append(' ').Append(i).Append("\r\n");
        return b.ToString();
    }

    private SpoolFile Receive(string text)
    {
        var file = _acceptor.Open(0);
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        // In pieces, as a transfer arrives.
        for (int i = 0; i < bytes.Length; i += 8192) file.Write(bytes.AsSpan(i, Math.Min(8192, bytes.Length - i)));
        return file;
    }

    private async Task<byte[]> QueueAsync(SpoolFile file, MailParameters parameters)
    {
        var envelope = new Envelope(file.Id, DateTimeOffset.UtcNow, "alice@example.org", file.Length, parameters,
            new ClientTrace("submission", "192.0.2.1", "client.test", "ESMTPSA", null, "alice@example.org"),
            [new EnvelopeRecipient("bob@example.net", "bob@example.net", RecipientRoute.Remote, null, DsnNotify.Unspecified, null, null)]);
        var result = await _acceptor.AcceptAsync(file, envelope);
        var id = Assert.IsType<AcceptResult.Accepted>(result).Id;
        await using var data = _spool.OpenData(id);
        var copy = new MemoryStream();
        await data.CopyToAsync(copy, TestContext.Current.CancellationToken);
        return copy.ToArray();
    }

    [Theory]
    [InlineData(10)] // in memory
    [InlineData(3_000)] // past MessageSpool.MemoryLimit: spilled, then copied inline
    [InlineData(20_000)] // past MessageSpool.InlineLimit: a data file of its own
    public async Task TheQueuedBytesCarryASignatureOfEveryActiveKeyThatVerifies(int lines)
    {
        AddKey("r", DkimAlgorithm.Rsa2048);
        AddKey("e", DkimAlgorithm.Ed25519);
        AddKey("p", DkimAlgorithm.Rsa2048, DkimKeyState.Pending);
        AddKey("old", DkimAlgorithm.Rsa2048, DkimKeyState.Retiring);
        await using var original = Receive(Message("Alice <alice@example.org>", lines));
        var signed = await _signer.SignAsync(_acceptor, original, SevenBit, TestContext.Current.CancellationToken);
        Assert.NotNull(signed);
        Assert.Equal(["d=example.org s=r a=rsa-sha256", "d=example.org s=e a=ed25519-sha256"], signed.Signatures);
        var bytes = await QueueAsync(signed.File, signed.Parameters);
        Assert.Equal([true, true], _keys.Verify(bytes));
        var text = System.Text.Encoding.ASCII.GetString(bytes);
        Assert.DoesNotContain("s=p;", text);
        Assert.DoesNotContain("s=old;", text);
        Assert.EndsWith($"a line of the body, quite ordinary {lines - 1}\r\n", text);
    }

    [Fact]
    public async Task EightBitContentIsConvertedToSevenBitBeforeSigningAndTheEnvelopeSaysSo()
    {
        AddKey("r", DkimAlgorithm.Rsa2048);
        var text = Message("alice@example.org", 0).Replace("\r\n\r\n", "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße aus Köln\r\n", StringComparison.Ordinal);
        await using var original = Receive(text);
        var signed = await _signer.SignAsync(_acceptor, original, SevenBit with { Body = BodyType.EightBitMime }, TestContext.Current.CancellationToken);
        Assert.NotNull(signed);
        Assert.Equal(BodyType.SevenBit, signed.Parameters.Body);
        var bytes = await QueueAsync(signed.File, signed.Parameters);
        Assert.All(bytes, b => Assert.True(b < 0x80));
        Assert.Equal([true], _keys.Verify(bytes));
        using var parsed = MimeKit.MimeMessage.Load(new MemoryStream(bytes));
        Assert.Contains("Grüße aus Köln", parsed.TextBody ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public async Task SmtpUtf8MailKeepsItsEightBitBody()
    {
        AddKey("r", DkimAlgorithm.Rsa2048);
        var text = Message("alice@example.org", 0) + "Grüße\r\n";
        await using var original = Receive(text);
        var utf8 = SevenBit with { Body = BodyType.EightBitMime, SmtpUtf8 = true };
        var signed = await _signer.SignAsync(_acceptor, original, utf8, TestContext.Current.CancellationToken);
        Assert.NotNull(signed);
        Assert.Equal(BodyType.EightBitMime, signed.Parameters.Body);
        var bytes = await QueueAsync(signed.File, signed.Parameters);
        Assert.Contains("Grüße", System.Text.Encoding.UTF8.GetString(bytes));
        Assert.Equal([true], _keys.Verify(bytes));
    }

    [Theory]
    [InlineData("carol@example.net")] // not a hosted domain
    [InlineData("")] // no From: at all
    public async Task MailWithoutAnActiveKeyForItsFromDomainIsLeftAlone(string from)
    {
        AddKey("r", DkimAlgorithm.Rsa2048);
        var text = from.Length == 0 ? "Subject: no author\r\n\r\nbody\r\n" : Message(from, 3);
        await using var original = Receive(text);
        Assert.Null(await _signer.SignAsync(_acceptor, original, SevenBit, TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("malformed From", "From: <<<@@@>>> ,,;\r\nSubject: x\r\n\r\nbody\r\n", false)]
    [InlineData("no empty line, no body", "From: alice@example.org\r\nSubject: x\r\n", true)]
    [InlineData("a folded From over many lines", "From:\r\n  Alice\r\n  <alice@example.org>\r\nSubject: x\r\n\r\nbody\r\n", true)]
    [InlineData("a multipart without its closing boundary", "From: alice@example.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\npart\r\n", true)]
    [InlineData("binary garbage in the body", "From: alice@example.org\r\n\r\n\u0001\u0002\u00ff\u00fe\r\n", true)]
    public async Task HostileMessagesAreSignedInAVerifiableWayOrLeftAloneNeverACrash(string what, string text, bool signed)
    {
        AddKey("r", DkimAlgorithm.Rsa2048);
        await using var original = Receive(text);
        var result = await _signer.SignAsync(_acceptor, original, SevenBit with { Body = BodyType.EightBitMime }, TestContext.Current.CancellationToken);
        Assert.True(signed == result is not null, what);
        if (result is null) return;
        Assert.Equal([true], _keys.Verify(await QueueAsync(result.File, result.Parameters)));
    }

    [Fact]
    public async Task AThousandHeaderFieldsAreSignedToo()
    {
        AddKey("e", DkimAlgorithm.Ed25519);
        var text = new System.Text.StringBuilder("From: alice@example.org\r\n");
        for (int i = 0; i < 1000; i++) text.Append($"X-Filler-{i}: {new string('x', 100)}\r\n");
        text.Append("Subject: many fields\r\n\r\nbody\r\n");
        await using var original = Receive(text.ToString());
        var result = await _signer.SignAsync(_acceptor, original, SevenBit, TestContext.Current.CancellationToken);
        Assert.NotNull(result);
        Assert.Equal([true], _keys.Verify(await QueueAsync(result.File, result.Parameters)));
    }

    [Fact]
    public async Task OnlyPendingKeysSignNothing()
    {
        AddKey("p", DkimAlgorithm.Ed25519, DkimKeyState.Pending);
        await using var original = Receive(Message("alice@example.org", 3));
        Assert.Null(await _signer.SignAsync(_acceptor, original, SevenBit, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task AnActiveKeyWhosePrivateHalfIsGoneIsAnErrorNamingIt()
    {
        AddKey("r", DkimAlgorithm.Rsa2048);
        _keys.Delete("example.org", "r");
        await using var original = Receive(Message("alice@example.org", 3));
        var error = await Assert.ThrowsAsync<DkimSigningException>(() => _signer.SignAsync(_acceptor, original, SevenBit, TestContext.Current.CancellationToken));
        Assert.Contains("example.org", error.Message);
    }

    [Fact]
    public async Task TheFromDomainIsMatchedWithoutRegardToCase()
    {
        AddKey("r", DkimAlgorithm.Ed25519);
        await using var original = Receive(Message("Alice <Alice@EXAMPLE.Org>", 3));
        var signed = await _signer.SignAsync(_acceptor, original, SevenBit, TestContext.Current.CancellationToken);
        Assert.NotNull(signed);
        await signed.File.DisposeAsync();
    }
}
