using System.Text;
using SecureMx.Policy;
using SecureMx.Smtp;

namespace SecureMx.Tests.Policy;

public sealed class AuthorAddressesTests
{
    private static AuthorAddresses Capture(string message, int chunk = 7)
    {
        var capture = new HeaderSectionCapture();
        var bytes = Encoding.UTF8.GetBytes(message);
        for (int i = 0; i < bytes.Length; i += chunk) capture.Append(bytes.AsSpan(i, Math.Min(chunk, bytes.Length - i)));
        var (section, complete) = capture.Result();
        return AuthorAddresses.Parse(section, complete);
    }

    [Fact]
    public void FromSenderAndResentFieldsAreAllNamedAndTheBodyIsNot()
    {
        var a = Capture("Resent-From: r@example.org\r\nFrom: \"A, B\" <a@example.org>,\r\n b@example.org\r\nSender: s@example.org\r\n\r\nFrom: body@example.org\r\n");
        Assert.Null(a.Problem);
        Assert.Equal(["r@example.org", "a@example.org", "b@example.org", "s@example.org"], a.Addresses.Select(x => x.Address));
    }

    [Theory]
    [InlineData("From: alice@example.org\r\nFrom : boss@example.org\r\n\r\n")]
    [InlineData("From: alice@example.org\r\nfrom:boss@example.org\r\n\r\n")]
    [InlineData("From: alice@example.org\r\nFROM:\r\n boss@example.org\r\n\r\n")]
    [InlineData("From: boss@example.org <alice@example.org>, boss@example.org\r\n\r\n")]
    public void EverySpellingOfAFromFieldIsSeen(string message) =>
        Assert.Contains("boss@example.org", Capture(message).Addresses.Select(x => x.Address));

    [Fact]
    public void EncodedDisplayNamesAndGroupsAreUnderstood()
    {
        var a = Capture("From: =?utf-8?b?w5Zsw6c=?= <oe@example.org>, team: x@example.org;\r\n\r\n");
        Assert.Equal(["oe@example.org", "x@example.org"], a.Addresses.Select(x => x.Address));
    }

    [Theory]
    [InlineData("Subject: x\r\n\r\nFrom: a@example.org\r\n", "no From")]
    [InlineData("\r\nFrom: a@example.org\r\n", "no From")]
    [InlineData("From: undisclosed:;\r\n\r\n", "names no mailbox")]
    public void AMessageWithoutAnAuthorHasAProblem(string message, string problem) =>
        Assert.Contains(problem, Capture(message).Problem);

    [Fact]
    public void AHeaderSectionBeyondTheLimitIsNotCheckedButRefused()
    {
        var huge = "From: a@example.org\r\n" + string.Concat(Enumerable.Repeat("X-Pad: " + new string('x', 990) + "\r\n", 1100)) + "\r\nbody";
        Assert.Contains("too large", Capture(huge, 64 * 1024).Problem);
    }

    [Fact]
    public void AMessageWithoutBodyIsAllHeader()
    {
        var a = Capture("From: a@example.org\r\nSubject: x\r\n");
        Assert.Equal(["a@example.org"], a.Addresses.Select(x => x.Address));
    }
}
