using System.Text;
using SecureMx.Delivery;
using SecureMx.Mail;

namespace SecureMx.Tests.Delivery;

/// <summary>Return-Path and Received (RFC 5321 §4.4, RFC 3848, Postfix's TLS comment).</summary>
public sealed class TraceHeadersTests
{
    private static Envelope Envelope(string helo = "client.remote.example", NegotiatedTls? tls = null, string protocol = "ESMTPS", DateTimeOffset? at = null) => new(
        "0123456789ABCDEF",
        at ?? new DateTimeOffset(2025, 6, 3, 9, 5, 7, TimeSpan.Zero),
        "sender@remote.example",
        100,
        new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null),
        new ClientTrace("mx", "192.0.2.7", helo, protocol, tls, null),
        []);

    private static string Build(Envelope e, string rcpt = "alice@example.org") =>
        Encoding.UTF8.GetString(TraceHeaders.Build(e, rcpt, "mx.example.net"));

    [Fact]
    public void RelayedMailGetsReceivedWithoutReturnPathAndNamesTheRecipientOnlyWhenAlone()
    {
        var one = Encoding.UTF8.GetString(TraceHeaders.Received(Envelope(protocol: "ESMTPSA"), "friend@elsewhere.example", "mx.example.net"));
        Assert.StartsWith("Received: from client.remote.example ([192.0.2.7])\r\n", one, StringComparison.Ordinal);
        Assert.Contains("with ESMTPSA id 0123456789ABCDEF\r\n\tfor <friend@elsewhere.example>; Tue, 03 Jun 2025", one, StringComparison.Ordinal);
        var many = Encoding.UTF8.GetString(TraceHeaders.Received(Envelope(), null, "mx.example.net"));
        Assert.Contains("id 0123456789ABCDEF; Tue, 03 Jun 2025 09:05:07 +0000\r\n", many, StringComparison.Ordinal);
        Assert.DoesNotContain("for <", many, StringComparison.Ordinal);
        Assert.DoesNotContain("Return-Path", one + many, StringComparison.Ordinal);
    }

    [Fact]
    public void TheAuthenticationResultsOfAnInboundMessageFollowOurReceivedForMailboxesOnly()
    {
        const string results = "Authentication-Results: mx.example.net;\r\n\tspf=pass smtp.mailfrom=sender@remote.example;\r\n\tdkim=none;\r\n\tdmarc=none header.from=remote.example\r\n";
        var e = Envelope() with { AuthenticationResults = results };
        var local = Build(e);
        Assert.StartsWith("Return-Path: <sender@remote.example>\r\nReceived: from ", local, StringComparison.Ordinal);
        Assert.EndsWith(" +0000\r\n" + results, local, StringComparison.Ordinal);
        Assert.EndsWith(results, Encoding.UTF8.GetString(TraceHeaders.ReceivedForMailbox(e, null, "mx.example.net")), StringComparison.Ordinal);
        Assert.DoesNotContain("Authentication-Results", Encoding.UTF8.GetString(TraceHeaders.Received(e, null, "mx.example.net")), StringComparison.Ordinal);
        Assert.DoesNotContain("Authentication-Results", Build(Envelope()), StringComparison.Ordinal);
    }

    [Fact]
    public void TheNodeIsNamedInTheCommentAfterTheHost()
    {
        var text = Encoding.UTF8.GetString(TraceHeaders.Received(Envelope(), null, "mx.example.net", "mx2"));
        Assert.Contains("\tby mx.example.net (SecureMx node mx2) with ESMTPS id 0123456789ABCDEF; ", text, StringComparison.Ordinal);
        var local = Encoding.UTF8.GetString(TraceHeaders.Build(Envelope(), "alice@example.org", "mx.example.net", "mx-fra_1"));
        Assert.Contains("\tby mx.example.net (SecureMx node mx-fra_1) with ESMTPS id ", local, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PrefixedStreamReadsTheHeaderThenTheMessageInSmallAndLargeReads()
    {
        var prefix = "Received: x\r\n"u8.ToArray();
        var body = Encoding.ASCII.GetBytes(new string('m', 5000));
        foreach (var size in new[] { 1, 7, 4096, 100_000 })
        {
            await using var s = new PrefixedStream(prefix, new MemoryStream(body));
            Assert.Equal(prefix.Length + body.Length, s.Length);
            var all = new MemoryStream();
            var buffer = new byte[size];
            int n;
            while ((n = await s.ReadAsync(buffer, TestContext.Current.CancellationToken)) > 0) all.Write(buffer, 0, n);
            Assert.Equal(prefix.Concat(body).ToArray(), all.ToArray());
        }
    }

    [Fact]
    public void ReceivedHeaderNamesTlsProtocolCipherAndRecipient()
    {
        var text = Build(Envelope(tls: new NegotiatedTls("TLSv1.3", "TLS_AES_256_GCM_SHA384")));
        Assert.StartsWith("Return-Path: <sender@remote.example>\r\nReceived: from client.remote.example ([192.0.2.7])\r\n", text, StringComparison.Ordinal);
        Assert.Contains("(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)", text, StringComparison.Ordinal);
        Assert.Contains("by mx.example.net (SecureMx) with ESMTPS id 0123456789ABCDEF", text, StringComparison.Ordinal);
        Assert.Contains("for <alice@example.org>; Tue, 03 Jun 2025 09:05:07 +0000\r\n", text, StringComparison.Ordinal);
        Assert.EndsWith("\r\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void PlaintextReceivedHeaderHasNoTlsComment()
    {
        var text = Build(Envelope(protocol: "ESMTP"));
        Assert.DoesNotContain("using", text, StringComparison.Ordinal);
        Assert.Contains(" with ESMTP id ", text, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryLineEndsWithCrLfAndContinuationLinesAreFolded()
    {
        var text = Build(Envelope(tls: new NegotiatedTls("TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")));
        Assert.DoesNotContain("\n", text.Replace("\r\n", "", StringComparison.Ordinal), StringComparison.Ordinal);
        var lines = text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("Return-Path:", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("Received:", lines[1], StringComparison.Ordinal);
        Assert.All(lines.Skip(2), l => Assert.True(l[0] is ' ' or '\t', $"not folded: {l}"));
    }

    [Fact]
    public void NullSenderGivesEmptyReturnPath()
    {
        var text = Build(Envelope() with { Sender = "" });
        Assert.StartsWith("Return-Path: <>\r\n", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("evil) by trusted.example (x", "evil??by?trusted.example??x")]
    [InlineData("[10.0.0.1", "?10.0.0.1")]
    [InlineData("[10.0.0.1]x", "?10.0.0.1?x")]
    [InlineData("[IPv6:evil)]", "?IPv6:evil??")]
    [InlineData("a\\b", "a?b")]
    [InlineData("tab\there", "tab?here")]
    [InlineData("del\u007F", "del?")]
    public void HeloNameIsSanitised(string helo, string expected)
    {
        var text = Build(Envelope(helo: helo));
        Assert.Contains("Received: from " + expected + " ([192.0.2.7])\r\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void HeloNameWithCrLfCannotInjectHeaders()
    {
        var text = Build(Envelope(helo: "x\r\nX-Injected: yes"));
        Assert.DoesNotContain("\r\nX-Injected", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Ipv6ClientIsWrittenAsIPv6AddressLiteral()
    {
        var e = Envelope();
        var text = Build(e with { Client = e.Client with { ClientIp = "2001:db8::7" } });
        Assert.Contains("Received: from client.remote.example ([IPv6:2001:db8::7])\r\n", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[10.0.0.1]")]
    [InlineData("[IPv6:::1]")]
    [InlineData("[IPv6:2001:db8::7]")]
    public void HeloAddressLiteralKeepsItsBrackets(string helo)
    {
        // RFC 5321 §4.1.3: an EHLO with an address literal is valid and is written as sent.
        var text = Build(Envelope(helo: helo));
        Assert.Contains("Received: from " + helo + " ([192.0.2.7])\r\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void NonAsciiHeloIsSanitised()
    {
        var text = Build(Envelope(helo: "h\u0085\u2028\u00e9lo"));
        Assert.Contains("Received: from h???lo ([192.0.2.7])\r\n", text, StringComparison.Ordinal);
        Assert.True(System.Text.Ascii.IsValid(text));
    }

    [Fact]
    public void EmptyHeloIsUnknown()
    {
        Assert.Contains("Received: from unknown ([192.0.2.7])", Build(Envelope(helo: "")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 0, "+0000")]
    [InlineData(2, 0, "+0200")]
    [InlineData(-5, 0, "-0500")]
    [InlineData(5, 30, "+0530")]
    [InlineData(-3, -30, "-0330")]
    public void Rfc5322DateHasNumericZone(int hours, int minutes, string zone)
    {
        var t = new DateTimeOffset(2024, 2, 29, 23, 59, 1, new TimeSpan(hours, minutes, 0));
        Assert.Equal("Thu, 29 Feb 2024 23:59:01 " + zone, TraceHeaders.Rfc5322Date(t));
    }
}
