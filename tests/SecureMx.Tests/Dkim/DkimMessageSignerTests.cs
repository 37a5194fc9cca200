using Microsoft.Extensions.Time.Testing;
using MimeKit;
using SecureMx.Dkim;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dkim;

/// <summary>
/// Signing with MimeKit's signer: RSA and Ed25519 signatures that MimeKit's verifier accepts against the
/// record text SecureMx publishes, relaxed/relaxed, the header list with From/To/Subject/Date over-signed,
/// and t= from the instance's clock.
/// </summary>
public sealed class DkimMessageSignerTests
{
    private static readonly FakeTimeProvider Clock = new(new DateTimeOffset(2026, 12, 6, 1, 0, 0, TimeSpan.Zero));

    private const string Canned =
        "From: Alice <alice@example.org>\r\n" +
        "To: bob@example.net\r\n" +
        "Cc: carol@example.net\r\n" +
        "Subject:   a   test\r\n" +
        "Date: Sun, 06 Dec 2026 01:00:00 +0000\r\n" +
        "Message-ID: <1@example.org>\r\n" +
        "MIME-Version: 1.0\r\n" +
        "Content-Type: text/plain; charset=us-ascii\r\n" +
        "X-Mailer: test\r\n" +
        "\r\n" +
        "Hello Bob,  \r\n" +
        "\r\n" +
        "the body.\r\n" +
        "\r\n\r\n";

    private static MimeMessage Parse(string text) => MimeMessage.Load(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(text)));

    private static byte[] Write(MimeMessage message)
    {
        var output = new MemoryStream();
        message.WriteTo(DkimMessageSigner.WriteOptions, output);
        return output.ToArray();
    }

    [Theory]
    [InlineData(DkimAlgorithm.Rsa2048, "rsa-sha256")]
    [InlineData(DkimAlgorithm.Ed25519, "ed25519-sha256")]
    public void ASignedMessageVerifiesAfterItIsWrittenAndReadBack(DkimAlgorithm algorithm, string tag)
    {
        var keys = new DkimTestKeys();
        var key = keys.Make("example.org", "s1", algorithm);
        using var message = Parse(Canned);
        var done = DkimMessageSigner.Sign(message, [(key, keys.Load("example.org", "s1"))], Clock);
        Assert.Equal([$"d=example.org s=s1 a={tag}"], done);
        var bytes = Write(message);
        Assert.Equal([true], keys.Verify(bytes));
        var header = System.Text.Encoding.ASCII.GetString(bytes);
        Assert.StartsWith("DKIM-Signature:", header);
        Assert.Contains("c=relaxed/relaxed", header);
        Assert.Contains($"t={Clock.GetUtcNow().ToUnixTimeSeconds()}", header);
    }

    [Fact]
    public void DualSigningAddsOneSignatureOfEachKindAndBothVerify()
    {
        var keys = new DkimTestKeys();
        var rsa = keys.Make("example.org", "r", DkimAlgorithm.Rsa2048);
        var ed = keys.Make("example.org", "e", DkimAlgorithm.Ed25519);
        using var message = Parse(Canned);
        DkimMessageSigner.Sign(message, [(rsa, keys.Load("example.org", "r")), (ed, keys.Load("example.org", "e"))], Clock);
        var bytes = Write(message);
        Assert.Equal([true, true], keys.Verify(bytes));
    }

    [Fact]
    public void TheHeaderListSignsEachPresentFieldAndOverSignsFromToSubjectDate()
    {
        using var message = Parse(Canned);
        var list = DkimHeaderList.For(message);
        Assert.Equal(2, list.Count(n => n == "from"));
        Assert.Equal(2, list.Count(n => n == "to"));
        Assert.Equal(2, list.Count(n => n == "subject"));
        Assert.Equal(2, list.Count(n => n == "date"));
        Assert.Equal(1, list.Count(n => n == "cc"));
        Assert.Equal(1, list.Count(n => n == "message-id"));
        Assert.Equal(1, list.Count(n => n == "content-type"));
        Assert.DoesNotContain("reply-to", list); // absent and not over-signed: left out
        Assert.DoesNotContain("x-mailer", list);
        Assert.DoesNotContain("received", list);
    }

    [Theory]
    [InlineData("From: Mallory <mallory@example.org>\r\n")]
    [InlineData("Subject: changed\r\n")]
    [InlineData("To: eve@example.net\r\n")]
    public void AnOverSignedFieldAddedAfterSigningBreaksTheSignature(string added)
    {
        var keys = new DkimTestKeys();
        var key = keys.Make("example.org", "s1", DkimAlgorithm.Rsa2048);
        using var message = Parse(Canned);
        DkimMessageSigner.Sign(message, [(key, keys.Load("example.org", "s1"))], Clock);
        var text = System.Text.Encoding.ASCII.GetString(Write(message));
        Assert.Equal([true], keys.Verify(System.Text.Encoding.ASCII.GetBytes(text)));
        // Added below the signature, as a forwarder would add a field: the extra name in h= now matches it.
        var at = text.IndexOf("From: Alice", StringComparison.Ordinal);
        var tampered = text.Insert(at, added);
        Assert.Equal([false], keys.Verify(System.Text.Encoding.ASCII.GetBytes(tampered)));
    }

    [Fact]
    public void AFieldOutsideTheListMayBeAddedWithoutBreakingIt()
    {
        var keys = new DkimTestKeys();
        var key = keys.Make("example.org", "s1", DkimAlgorithm.Ed25519);
        using var message = Parse(Canned);
        DkimMessageSigner.Sign(message, [(key, keys.Load("example.org", "s1"))], Clock);
        var text = "Received: from a by b; Sun, 06 Dec 2026 01:00:01 +0000\r\n" + System.Text.Encoding.ASCII.GetString(Write(message));
        Assert.Equal([true], keys.Verify(System.Text.Encoding.ASCII.GetBytes(text)));
    }

    [Fact]
    public void AChangedBodyBreaksTheSignature()
    {
        var keys = new DkimTestKeys();
        var key = keys.Make("example.org", "s1", DkimAlgorithm.Rsa2048);
        using var message = Parse(Canned);
        DkimMessageSigner.Sign(message, [(key, keys.Load("example.org", "s1"))], Clock);
        var text = System.Text.Encoding.ASCII.GetString(Write(message)).Replace("the body.", "the b0dy.", StringComparison.Ordinal);
        Assert.Equal([false], keys.Verify(System.Text.Encoding.ASCII.GetBytes(text)));
    }

    [Fact]
    public void AKeyThatIsNotAKeyIsReportedAsUnavailable()
    {
        var keys = new DkimTestKeys();
        var key = keys.Make("example.org", "s1", DkimAlgorithm.Rsa2048);
        using var message = Parse(Canned);
        var error = Assert.Throws<DkimKeyUnavailableException>(() => DkimMessageSigner.Sign(message, [(key, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")], Clock));
        Assert.Contains("s1._domainkey.example.org", error.Message);
    }
}
