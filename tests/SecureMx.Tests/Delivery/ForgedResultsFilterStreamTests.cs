using System.Text;
using SecureMx.Delivery;

namespace SecureMx.Tests.Delivery;

public sealed class ForgedResultsFilterStreamTests
{
    private static async Task<string> ReadAll(Stream s, int chunk)
    {
        var result = new MemoryStream();
        var buffer = new byte[chunk];
        int n;
        while ((n = await s.ReadAsync(buffer, TestContext.Current.CancellationToken)) > 0) result.Write(buffer, 0, n);
        return Encoding.ASCII.GetString(result.ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(65536)]
    public async Task OurForgedFieldsLeaveTheHeaderAndTheBodyStreamsUnchanged(int chunk)
    {
        var body = string.Concat(Enumerable.Repeat("Authentication-Results: mx.example.org; body line stays\r\n", 2000));
        var message = "Authentication-Results: mx.example.org; spf=pass\r\nSubject: s\r\nAuthentication-Results: other.example; spf=fail\r\n\r\n" + body;
        await using var s = new ForgedResultsFilterStream(new MemoryStream(Encoding.ASCII.GetBytes(message)), "mx.example.org");
        Assert.Equal("Subject: s\r\nAuthentication-Results: other.example; spf=fail\r\n\r\n" + body, await ReadAll(s, chunk));
    }

    [Fact]
    public async Task AHeaderSectionOverTheLimitPassesAsItIs()
    {
        var message = "Authentication-Results: mx.example.org; spf=pass\r\nX: " + new string('a', ForgedResultsFilterStream.HeaderLimit) + "\r\n\r\nbody\r\n";
        await using var s = new ForgedResultsFilterStream(new MemoryStream(Encoding.ASCII.GetBytes(message)), "mx.example.org");
        Assert.Equal(message, await ReadAll(s, 4096));
    }
}
