using System.Text;
using MimeKit;
using SecureMx.Dsn;
using SecureMx.Mail;
using static SecureMx.Tests.Dsn.DsnSamples;

namespace SecureMx.Tests.Dsn;

/// <summary>What a DSN returns of the original message (RFC 3461 §4.3 RET, RFC 3464 §2, RFC 6522): all of it, its header, or nothing.</summary>
public sealed class DsnReturnedMessageTests
{
    [Fact]
    public void RetFullReturnsTheOriginalMessageByteForByte()
    {
        var w = Write(Request(Bounce()) with { Return = DsnReturn.Full });

        var part = Assert.IsType<MessagePart>(w.Report[2]);
        Assert.Equal("message/rfc822", part.ContentType.MimeType);
        // The body holds "€": 8bit, which message/rfc822 allows (RFC 2046 §5.2.1).
        Assert.Equal("8bit", part.Headers[HeaderId.ContentTransferEncoding]);
        Assert.Equal(Original, WriteBack(part.Message));
        Assert.Equal("Quarterly figures", part.Message?.Subject);
        Assert.True(w.Result.EightBit);
        Assert.False(w.Result.SmtpUtf8);
    }

    [Fact]
    public void RetFullOfASevenBitMessageDeclaresNoTransferEncoding()
    {
        var ascii = Encoding.ASCII.GetBytes("From: a@example.net\r\nSubject: plain\r\n\r\nJust ASCII.\r\n");
        var w = Write(Request(Bounce()) with { Return = DsnReturn.Full, OpenOriginal = () => new MemoryStream(ascii) });

        var part = Assert.IsType<MessagePart>(w.Report[2]);
        Assert.False(part.Headers.Contains(HeaderId.ContentTransferEncoding));
        Assert.Equal(ascii, WriteBack(part.Message));
        Assert.False(w.Result.EightBit);
        Assert.All(w.Bytes, b => Assert.True(b < 0x80));
    }

    [Fact]
    public void RetHeadersReturnsOnlyTheHeaderBlock()
    {
        var w = Write(Request(Bounce()) with { Return = DsnReturn.Headers });

        var part = Assert.IsType<TextRfc822Headers>(w.Report[2]);
        Assert.Equal("text/rfc822-headers", part.ContentType.MimeType);
        // The header block as received, and the empty line that ends it.
        Assert.Equal(OriginalHeaders + "\r\n", Encoding.UTF8.GetString(WriteBack(part.Message)));
        Assert.Equal("Quarterly figures", part.Message?.Subject);
        Assert.DoesNotContain("the figures", w.Ascii, StringComparison.Ordinal);
        Assert.DoesNotContain("€", w.Ascii, StringComparison.Ordinal);
        Assert.False(w.Result.EightBit);
    }

    [Fact]
    public void WithoutRetOnlyTheHeadersAreReturned()
    {
        var w = Write(Request(Bounce()) with { Return = DsnReturn.Unspecified });
        Assert.IsType<TextRfc822Headers>(w.Report[2]);
        Assert.DoesNotContain("the figures", w.Ascii, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(DsnAction.Delayed, "4.4.1")]
    [InlineData(DsnAction.Delivered, "2.0.0")]
    public void RetFullReturnsOnlyHeadersInADsnWithoutFailure(DsnAction action, string status)
    {
        // RFC 3461 §4.3: RET applies to DSNs reporting a failure; others SHOULD carry only the headers.
        var w = Write(Request(new DsnRecipientReport("bob@remote.example", action, EnhancedStatus.Parse(status))) with { Return = DsnReturn.Full });
        Assert.IsType<TextRfc822Headers>(w.Report[2]);
    }

    [Fact]
    public void RetFullOverTheSizeLimitReturnsHeadersInstead()
    {
        var over = Write(Request(Bounce()) with { Return = DsnReturn.Full, ReturnSizeLimit = Original.Length - 1 });
        Assert.IsType<TextRfc822Headers>(over.Report[2]);

        var at = Write(Request(Bounce()) with { Return = DsnReturn.Full, ReturnSizeLimit = Original.Length });
        Assert.IsType<MessagePart>(at.Report[2]);
    }

    [Fact]
    public void WithoutOriginalTheReportHasTwoParts()
    {
        var w = Write(Request(Bounce()) with { Return = DsnReturn.Full, OpenOriginal = null });
        Assert.Equal(2, w.Report.Count);
        Assert.DoesNotContain("followed by", w.Text.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void NonSeekableOriginalIsOpenedOnceAndReturnedWhole()
    {
        int opened = 0;
        var w = Write(Request(Bounce()) with
        {
            Return = DsnReturn.Full,
            OpenOriginal = () => { opened++; return new ForwardOnlyStream(Original); },
        });

        Assert.Equal(1, opened);
        Assert.Equal(Original, WriteBack(Assert.IsType<MessagePart>(w.Report[2]).Message));
    }

    [Fact]
    public void OriginalWithoutBodyReturnsItsHeaders()
    {
        var headersOnly = Encoding.ASCII.GetBytes("From: a@example.net\r\nSubject: no body");
        var w = Write(Request(Bounce()) with { OpenOriginal = () => new MemoryStream(headersOnly) });
        var part = Assert.IsType<TextRfc822Headers>(w.Report[2]);
        Assert.Equal("no body", part.Message?.Subject);
        AssertCrlfOnly(w.Bytes);
    }

    [Fact]
    public void OriginalWithBareLineFeedsIsReturnedWithCrlf()
    {
        var bare = Encoding.ASCII.GetBytes("From: a@example.net\nSubject: unix\n\nline one\nline two\r\n");
        var w = Write(Request(Bounce()) with { Return = DsnReturn.Full, OpenOriginal = () => new MemoryStream(bare) });

        AssertCrlfOnly(w.Bytes);
        var part = Assert.IsType<MessagePart>(w.Report[2]);
        Assert.Equal("From: a@example.net\r\nSubject: unix\r\n\r\nline one\r\nline two\r\n", Encoding.ASCII.GetString(WriteBack(part.Message)));
    }

    /// <summary>A stream that can only be read forward, like a pipe.</summary>
    private sealed class ForwardOnlyStream(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data, writable: false);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing) _inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
