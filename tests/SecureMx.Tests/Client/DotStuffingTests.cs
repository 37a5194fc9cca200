using System.Text;
using SecureMx.Client;
using SecureMx.Smtp;

namespace SecureMx.Tests.Client;

public sealed class DotStuffingTests
{
    private static async Task<string> StuffAsync(string content)
    {
        using var source = new MemoryStream(Encoding.ASCII.GetBytes(content));
        using var destination = new MemoryStream();
        await DotStuffing.CopyAsync(source, destination, TestContext.Current.CancellationToken);
        return Encoding.ASCII.GetString(destination.ToArray());
    }

    [Theory]
    [InlineData("a\r\nb\r\n", "a\r\nb\r\n.\r\n")]
    [InlineData(".a\r\n..b\r\nc.d\r\n", "..a\r\n...b\r\nc.d\r\n.\r\n")]
    [InlineData(".\r\n", "..\r\n.\r\n")]
    [InlineData("no final line break", "no final line break\r\n.\r\n")]
    [InlineData("", ".\r\n")]
    public async Task DotsAtLineStartAreDoubledAndTheEndMarkerAppended(string content, string expected) =>
        Assert.Equal(expected, await StuffAsync(content));

    [Fact]
    public async Task StuffedContentDecodesBackToTheOriginalAcrossBlockBoundaries()
    {
        // 200 KiB of lines, many starting with a dot, so that dots fall on the 64 KiB block edges too.
        var sb = new StringBuilder();
        for (int i = 0; sb.Length < 200 * 1024; i++) sb.Append(i % 3 == 0 ? "." : "").Append(new string('x', i % 97)).Append("\r\n");
        var original = sb.ToString();
        var stuffed = Encoding.ASCII.GetBytes(await StuffAsync(original));
        var decoder = new DataDecoder();
        var decoded = new MemoryStream();
        var consumed = decoder.Decode(stuffed, data => decoded.Write(data));
        Assert.True(decoder.IsComplete);
        Assert.Equal(stuffed.Length, consumed);
        Assert.Equal(original, Encoding.ASCII.GetString(decoded.ToArray()));
    }
}
