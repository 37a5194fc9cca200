using System.Text;
using SecureMx.Delivery.Remote;
using SecureMx.Mail;
using SecureMx.Policy;

namespace SecureMx.Tests.Delivery.Remote;

/// <summary>"TLS-Required: No" (RFC 8689 §3, §4.2.2): finding the field, and when SecureMx honours it.</summary>
public sealed class TlsRequiredHeaderTests
{
    private static Task<bool> SaysNoAsync(string message) =>
        TlsRequiredHeader.SaysNoAsync(new MemoryStream(Encoding.UTF8.GetBytes(message)), TestContext.Current.CancellationToken);

    /// <summary>
    /// A spool file that may be read only asynchronously (the delivery path is async) and whose bytes past
    /// <paramref name="limit"/> must never be read; <paramref name="chunk"/>: the most one read returns.
    /// </summary>
    private sealed class GuardedMessage(byte[] data, int limit, int chunk = int.MaxValue) : Stream
    {
        private int _position;

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int n = Math.Min(Math.Min(buffer.Length, chunk), data.Length - _position);
            if (_position + n > limit) throw new InvalidOperationException($"read up to byte {_position + n}, past byte {limit}");
            data.AsSpan(_position, n).CopyTo(buffer.Span);
            _position += n;
            return ValueTask.FromResult(n);
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new InvalidOperationException("the spool was read synchronously");
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private static byte[] Message(string header, int bodyBytes) => [.. Encoding.ASCII.GetBytes(header + "\r\n"), .. new byte[bodyBytes].Select(_ => (byte)'b')];

    [Fact]
    public async Task AHeaderSectionThatEndsEarlyIsReadAsynchronouslyWithoutReadingTheBody()
    {
        var message = Message("From: a@example.test\r\nTLS-Required: No\r\n", 1024 * 1024);
        Assert.True(await TlsRequiredHeader.SaysNoAsync(new GuardedMessage(message, limit: 2 * TlsRequiredHeader.ReadSize), TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    public async Task TheBlankLineIsFoundWhereverTheReadsCutIt(int chunk)
    {
        var header = "From: a@example.test\r\nTLS-Required: No\r\n";
        // The body would say otherwise if it were taken for header: the search must stop at the blank line.
        var message = Message(header, 0).Concat(Encoding.ASCII.GetBytes("TLS-Required: Yes\r\n")).ToArray();
        Assert.True(await TlsRequiredHeader.SaysNoAsync(new GuardedMessage(message, int.MaxValue, chunk), TestContext.Current.CancellationToken));
        Assert.False(await TlsRequiredHeader.SaysNoAsync(new GuardedMessage(Message("From: a@example.test\r\n", 0).Concat("TLS-Required: No\r\n"u8.ToArray()).ToArray(),
            int.MaxValue, chunk), TestContext.Current.CancellationToken));
        Assert.False(await TlsRequiredHeader.SaysNoAsync(new GuardedMessage(Encoding.ASCII.GetBytes("From: a@example.test\n\nTLS-Required: No\n"), int.MaxValue, chunk),
            TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task AHeaderSectionWithoutEndIsReadNoFurtherThanTheCap()
    {
        var padding = string.Concat(Enumerable.Repeat("X-Padding: " + new string('a', 1000) + "\r\n", 2 * TlsRequiredHeader.MaxHeaderBytes / 1000));
        var message = Encoding.ASCII.GetBytes(padding + "TLS-Required: No\r\n\r\nbody\r\n");
        Assert.False(await TlsRequiredHeader.SaysNoAsync(new GuardedMessage(message, limit: TlsRequiredHeader.MaxHeaderBytes), TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("TLS-Required: No\r\nSubject: x\r\n\r\nbody\r\n")]
    [InlineData("Subject: x\r\ntls-required:no\r\n\r\nbody\r\n")]
    [InlineData("Subject: x\r\nTLS-Required:\r\n  NO \r\n\r\nbody\r\n")]
    [InlineData("Subject: x\nTLS-Required: No\n\nbody\n")]
    public async Task TheFieldIsFoundInAnyCaseFoldedOrNot(string message) => Assert.True(await SaysNoAsync(message));

    [Theory]
    [InlineData("Subject: x\r\n\r\nTLS-Required: No\r\n")] // in the body
    [InlineData("Subject: x\r\nTLS-Required: Yes\r\n\r\nbody\r\n")]
    [InlineData("Subject: x\r\nTLS-Required: No thanks\r\n\r\nbody\r\n")]
    [InlineData("Subject: x\r\nX-TLS-Required: No\r\n\r\nbody\r\n")]
    [InlineData("Subject: TLS-Required: No\r\n\r\nbody\r\n")]
    [InlineData("")]
    public async Task AnythingElseIsNotTheField(string message) => Assert.False(await SaysNoAsync(message));

    [Fact]
    public async Task AHeaderSectionBeyondTheLimitIsNotSearchedFurther()
    {
        var padding = string.Concat(Enumerable.Repeat("X-Padding: " + new string('a', 1000) + "\r\n", TlsRequiredHeader.MaxHeaderBytes / 1000 + 1));
        Assert.False(await SaysNoAsync(padding + "TLS-Required: No\r\n\r\nbody\r\n"));
        Assert.True(await SaysNoAsync("TLS-Required: No\r\n" + padding + "\r\nbody\r\n"));
    }

    private const string WithHeader = "From: a@example.test\r\nTLS-Required: No\r\n\r\nbody\r\n";

    private static Envelope Envelope(string? account, bool requireTls = false) => new("X", DateTimeOffset.UtcNow, "a@example.test", 10,
        new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null, requireTls),
        new ClientTrace(account is null ? "mx" : "submission", "192.0.2.1", "c", "ESMTPSA", null, account), []);

    private static readonly TlsPolicySource Default = new(TlsPolicySource.GlobalDefault, OutboundTlsLevel.Dane);

    private static EffectiveTlsPolicy Policy(params TlsPolicySource[] sources) => new(sources.Max(s => s.Level), sources);

    private static async Task<TlsRequiredHeader.Decision> DecideAsync(Envelope envelope, EffectiveTlsPolicy policy, string message = WithHeader)
    {
        int opened = 0;
        var d = await TlsRequiredHeader.DecideAsync(envelope, policy, () => { opened++; return new MemoryStream(Encoding.UTF8.GetBytes(message)); },
            TestContext.Current.CancellationToken);
        Assert.True(opened <= 1);
        return d;
    }

    [Fact]
    public async Task HonouredForAnAccountsMessageUnderTheDefaultLevel()
    {
        Assert.Equal(new TlsRequiredHeader.Decision(true, true, null), await DecideAsync(Envelope("alice@example.test"), Policy(Default)));
        Assert.Equal(TlsRequiredHeader.Decision.Absent, await DecideAsync(Envelope("alice@example.test"), Policy(Default), "Subject: x\r\n\r\nbody\r\n"));
    }

    [Fact]
    public async Task NeverForMailThatArrivedFromElsewhereNorForARequireTlsMessageAndTheirBytesAreNotRead()
    {
        int opened = 0;
        Stream Open() { opened++; return new MemoryStream(Encoding.UTF8.GetBytes(WithHeader)); }
        var ct = TestContext.Current.CancellationToken;
        Assert.False((await TlsRequiredHeader.DecideAsync(Envelope(null), Policy(Default), Open, ct)).Honoured);
        Assert.False((await TlsRequiredHeader.DecideAsync(Envelope("alice@example.test", requireTls: true), Policy(Default), Open, ct)).Honoured);
        Assert.Equal(0, opened);
    }

    [Fact]
    public async Task HonouredForATlsReportSecureMxMadeItselfButNotForAnotherLocalMessage()
    {
        // RFC 8460 §5.3: reports are delivered despite TLS failures.
        Envelope Local(string listener) => Envelope(null) with { Client = new ClientTrace(listener, "127.0.0.1", "mx.example.test", "local", null, null) };
        Assert.Equal(new TlsRequiredHeader.Decision(true, true, null), await DecideAsync(Local(ClientTrace.TlsReportListener), Policy(Default)));
        Assert.Equal(TlsRequiredHeader.Decision.Absent, await DecideAsync(Local("dsn"), Policy(Default)));
        // The operator's mandatory level is not lowered for a report either.
        var strict = await DecideAsync(Local(ClientTrace.TlsReportListener), Policy(new TlsPolicySource(TlsPolicySource.GlobalDefault, OutboundTlsLevel.Encrypt)));
        Assert.False(strict.Honoured);
    }

    [Fact]
    public async Task ACustomersMandatoryTlsIsNeverLoweredByTheHeader()
    {
        var d = await DecideAsync(Envelope("alice@example.test"), Policy(Default, new TlsPolicySource("sender account alice@example.test", OutboundTlsLevel.Encrypt)));
        Assert.Equal((true, false), (d.Present, d.Honoured));
        Assert.Contains("mandatory", d.NotHonoured);
    }

    [Theory]
    [InlineData(OutboundTlsLevel.Dane, false)]
    [InlineData(OutboundTlsLevel.Encrypt, false)]
    [InlineData(OutboundTlsLevel.May, true)]
    public async Task AnOperatorsDestinationEntryOfDaneOrStricterIsNeverLoweredEither(OutboundTlsLevel entry, bool honoured)
    {
        var destination = new TlsPolicySource("destination example.org", entry);
        var d = await DecideAsync(Envelope("alice@example.test"), new EffectiveTlsPolicy(entry, [destination], Default));
        Assert.Equal(honoured, d.Honoured);
    }

    [Fact]
    public async Task AnOperatorsMandatoryDefaultIsNeverLowered()
    {
        var d = await DecideAsync(Envelope("alice@example.test"), Policy(new TlsPolicySource(TlsPolicySource.GlobalDefault, OutboundTlsLevel.Verify)));
        Assert.False(d.Honoured);
    }
}
