using System.Text;
using SecureMx.Smtp;

namespace SecureMx.Tests.Smtp;

/// <summary>DATA decoding (RFC 5321 §4.1.1.4, §4.5.2) and the SMTP smuggling rules (docs/ARCHITECTURE.md, "Hostile input").</summary>
public sealed class DataDecoderTests
{
    private sealed record Result(byte[] Output, int Consumed, bool Complete, bool SawBare);

    private static byte[] B(string s) => Encoding.Latin1.GetBytes(s);

    private static string S(byte[] b) => Encoding.Latin1.GetString(b);

    /// <summary>Feeds <paramref name="input"/> to one decoder in the given chunk sizes (cycled) until it completes.</summary>
    private static Result Feed(byte[] input, IReadOnlyList<int> chunkSizes)
    {
        var decoder = new DataDecoder();
        var output = new MemoryStream();
        int offset = 0, k = 0;
        while (offset < input.Length && !decoder.IsComplete)
        {
            int n = Math.Min(chunkSizes[k++ % chunkSizes.Count], input.Length - offset);
            int used = decoder.Decode(input.AsSpan(offset, n), span => output.Write(span));
            Assert.InRange(used, 0, n);
            if (!decoder.IsComplete) Assert.Equal(n, used); // an incomplete decoder consumes everything it is given
            offset += used;
        }
        return new Result(output.ToArray(), offset, decoder.IsComplete, decoder.SawBareCrOrLf);
    }

    private static Result OneShot(byte[] input) => Feed(input, [Math.Max(1, input.Length)]);

    private static Result OneShot(string input) => OneShot(B(input));

    [Fact]
    public void CrLfDotCrLfEndsDataAndIsNotContent()
    {
        var r = OneShot("Subject: x\r\n\r\nhello\r\n.\r\n");
        Assert.True(r.Complete);
        Assert.False(r.SawBare);
        Assert.Equal("Subject: x\r\n\r\nhello\r\n", S(r.Output));
    }

    [Fact]
    public void EmptyMessageIsJustDotCrLfAtStart()
    {
        var r = OneShot(".\r\n");
        Assert.True(r.Complete);
        Assert.Empty(r.Output);
        Assert.Equal(3, r.Consumed);
    }

    [Fact]
    public void LeadingDotIsRemovedFromStuffedLines()
    {
        var r = OneShot("..\r\n..hidden\r\n.x\r\nmid.dle\r\n...\r\n.\r\n");
        Assert.True(r.Complete);
        Assert.False(r.SawBare);
        Assert.Equal(".\r\n.hidden\r\nx\r\nmid.dle\r\n..\r\n", S(r.Output));
    }

    [Fact]
    public void StuffedDotAtVeryStartIsRemoved()
    {
        var r = OneShot("..start\r\n.\r\n");
        Assert.Equal(".start\r\n", S(r.Output));
    }

    [Fact]
    public void DotInsideLineIsKept()
    {
        var r = OneShot("a.b\r\n .\r\n.\r\n");
        Assert.Equal("a.b\r\n .\r\n", S(r.Output));
    }

    [Fact]
    public void BytesAfterEndMarkerAreNotConsumed()
    {
        var input = B("body\r\n.\r\nMAIL FROM:<a@b>\r\n");
        var r = OneShot(input);
        Assert.True(r.Complete);
        Assert.Equal("body\r\n.\r\n".Length, r.Consumed);
        Assert.Equal("body\r\n", S(r.Output));
    }

    [Fact]
    public void DecodeAfterCompletionConsumesNothing()
    {
        var d = new DataDecoder();
        d.Decode(B(".\r\n"), _ => { });
        Assert.True(d.IsComplete);
        int sinkCalls = 0;
        Assert.Equal(0, d.Decode(B("more\r\n.\r\n"), _ => sinkCalls++));
        Assert.Equal(0, sinkCalls);
    }

    [Fact]
    public void EmptyInputConsumesNothingAndWritesNothing()
    {
        var d = new DataDecoder();
        int sinkCalls = 0;
        Assert.Equal(0, d.Decode(ReadOnlySpan<byte>.Empty, _ => sinkCalls++));
        Assert.Equal(0, sinkCalls);
        Assert.False(d.IsComplete);
    }

    [Fact]
    public void CrLfIsRequiredBeforeTheEndDot_DotCrLfAfterTextIsContent()
    {
        // "x.\r\n" — the dot does not start a line.
        var r = OneShot("x.\r\n.\r\n");
        Assert.Equal("x.\r\n", S(r.Output));
    }

    // --- SMTP smuggling: none of these may end the data; all of them are bare line endings ---

    [Theory]
    [InlineData("\n.\n")]
    [InlineData("\r.\r")]
    [InlineData("\n.\r\n")]
    [InlineData("\r\n.\n")]
    [InlineData("\r\n.\r")]
    [InlineData("\r.\n")]
    [InlineData("\r.\r\n")]
    [InlineData("\n.\r")]
    public void SmugglingEndMarkerVariantsStayContentAndAreFlagged(string marker)
    {
        var smuggled = "MAIL FROM:<evil@attacker.test>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\n";
        var input = "Subject: hi\r\n\r\nbody" + marker + smuggled + "tail\r\n.\r\n";
        var r = OneShot(input);
        Assert.True(r.Complete);
        Assert.Equal(input.Length, r.Consumed); // only the real CRLF.CRLF ends the data
        Assert.True(r.SawBare);
        var text = S(r.Output);
        Assert.Contains(smuggled, text, StringComparison.Ordinal);
        Assert.EndsWith("tail\r\n", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\n.\n")]
    [InlineData("\r.\r")]
    [InlineData("\n.\r\n")]
    [InlineData("\r\n.\n")]
    [InlineData("\r\n.\r")]
    public void SmugglingMarkerWithoutRealEndMarkerLeavesDecoderIncomplete(string marker)
    {
        var r = OneShot("body" + marker + "MAIL FROM:<x@y>\r\n");
        Assert.False(r.Complete);
        Assert.True(r.SawBare);
    }

    [Fact]
    public void BareLfAloneSetsFlagButKeepsByte()
    {
        var r = OneShot("a\nb\r\n.\r\n");
        Assert.True(r.SawBare);
        Assert.Equal("a\nb\r\n", S(r.Output));
    }

    [Fact]
    public void BareCrAloneSetsFlagButKeepsByte()
    {
        var r = OneShot("a\rb\r\n.\r\n");
        Assert.True(r.SawBare);
        Assert.Equal("a\rb\r\n", S(r.Output));
    }

    [Fact]
    public void CrCrLfFlagsTheFirstCr()
    {
        var r = OneShot("a\r\r\n.\r\n");
        Assert.True(r.Complete);
        Assert.True(r.SawBare);
        Assert.Equal("a\r\r\n", S(r.Output));
    }

    [Fact]
    public void DotCrFollowedByOtherByteKeepsTheCrAsContent()
    {
        // "\r\n.\rX": the dot was stuffing, the CR is a (bare) content byte.
        var r = OneShot("a\r\n.\rX\r\n.\r\n");
        Assert.True(r.Complete);
        Assert.True(r.SawBare);
        Assert.Equal("a\r\n\rX\r\n", S(r.Output));
    }

    [Fact]
    public void CleanCrLfMessageNeverSetsBareFlag()
    {
        var r = OneShot("l1\r\nl2\r\n\r\n..\r\nl5\r\n.\r\n");
        Assert.False(r.SawBare);
    }

    [Fact]
    public void LargeContentWithoutLineBreaksIsPassedThrough()
    {
        var body = new byte[3 * 1024 * 1024 + 17];
        for (int i = 0; i < body.Length; i++) body[i] = (byte)('a' + i % 26);
        var input = body.Concat(B("\r\n.\r\n")).ToArray();
        var chunks = new List<int>();
        var d = new DataDecoder();
        var output = new MemoryStream();
        int consumed = d.Decode(input, span => { chunks.Add(span.Length); output.Write(span); });
        Assert.True(d.IsComplete);
        Assert.Equal(input.Length, consumed);
        Assert.Equal(body.Concat(B("\r\n")).ToArray(), output.ToArray());
        Assert.True(chunks.Count <= 2, $"content should be passed in few sink calls, got {chunks.Count}");
    }

    [Fact]
    public void BinaryHighBytesAndNulAreContent()
    {
        var input = new byte[] { 0x00, 0xFF, 0x80, (byte)'.', 0x7F, 13, 10, (byte)'.', 13, 10 };
        var r = OneShot(input);
        Assert.True(r.Complete);
        Assert.False(r.SawBare);
        Assert.Equal(new byte[] { 0x00, 0xFF, 0x80, (byte)'.', 0x7F, 13, 10 }, r.Output);
    }

    // --- buffer boundaries: every chunking must give the one-shot result ---

    public static TheoryData<string> BoundaryInputs => new()
    {
        "Subject: t\r\n\r\nline\r\n..dot\r\n.\r\nTRAILING",
        ".\r\nAFTER",
        "..\r\n.\r\n",
        "a\r\n.\rb\r\n.\r\nNEXT",
        "x\n.\ny\r\n.\r\n",
        "x\r.\ry\r\n.\r\n",
        "x\n.\r\ny\r\n.\r\n",
        "x\r\n.\ny\r\n.\r\n",
        "x\r\n.\r.\r\n.\r\n",
        "\r\r\n\n\r\n.\r\n",
        "a\r\n\r\n.\r\n",
        "end\r\n..\r\n...\r\n.\r\n.\r\n",
    };

    [Theory]
    [MemberData(nameof(BoundaryInputs))]
    public void SmallChunkSizesGiveTheOneShotResult(string text)
    {
        var input = B(text);
        var expected = OneShot(input);
        foreach (var size in new[] { 1, 2, 3, 7 })
        {
            var r = Feed(input, [size]);
            Assert.Equal(S(expected.Output), S(r.Output));
            Assert.Equal(expected.Consumed, r.Consumed);
            Assert.Equal(expected.Complete, r.Complete);
            Assert.Equal(expected.SawBare, r.SawBare);
        }
    }

    [Theory]
    [MemberData(nameof(BoundaryInputs))]
    public void EverySplitPointGivesTheOneShotResult(string text)
    {
        var input = B(text);
        var expected = OneShot(input);
        for (int split = 1; split < input.Length; split++)
        {
            var r = Feed(input, [split, input.Length - split]);
            Assert.True(S(expected.Output) == S(r.Output), $"split at {split}");
            Assert.Equal(expected.Consumed, r.Consumed);
            Assert.Equal(expected.Complete, r.Complete);
            Assert.Equal(expected.SawBare, r.SawBare);
        }
    }

    [Fact]
    public void EveryPairOfSplitPointsAroundTheEndMarkerGivesTheOneShotResult()
    {
        var input = B("ab\r\n..\r\n.\rz\r\n.\r\nREST");
        var expected = OneShot(input);
        for (int a = 1; a < input.Length; a++)
        {
            for (int b = a + 1; b < input.Length; b++)
            {
                var r = FeedAt(input, a, b);
                Assert.True(S(expected.Output) == S(r.Output), $"splits at {a},{b}");
                Assert.Equal(expected.Consumed, r.Consumed);
                Assert.Equal(expected.SawBare, r.SawBare);
            }
        }
    }

    private static Result FeedAt(byte[] input, int a, int b) => Feed(input, [a, b - a, input.Length - b]);
}
