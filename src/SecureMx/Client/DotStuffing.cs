namespace SecureMx.Client;

/// <summary>
/// Writes message bytes as SMTP DATA content (RFC 5321 §4.5.2): a "." is doubled at the start of
/// every line, the content is made to end in CRLF, and "." CRLF ends it. Streams in blocks.
/// </summary>
public static class DotStuffing
{
    public static async Task CopyAsync(Stream source, Stream destination, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        var output = new MemoryStream(64 * 1024 + 1024);
        bool atLineStart = true;
        byte last1 = (byte)'\n', last2 = (byte)'\r'; // as if preceded by CRLF: an empty message needs no extra CRLF
        bool any = false;
        int n;
        while ((n = await source.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            output.SetLength(0);
            int runStart = 0;
            for (int i = 0; i < n; i++)
            {
                if (atLineStart && buffer[i] == (byte)'.')
                {
                    output.Write(buffer, runStart, i - runStart);
                    output.WriteByte((byte)'.');
                    runStart = i; // the original dot follows
                }
                atLineStart = buffer[i] == (byte)'\n';
            }
            output.Write(buffer, runStart, n - runStart);
            any = true;
            last2 = n >= 2 ? buffer[n - 2] : last1;
            last1 = buffer[n - 1];
            await destination.WriteAsync(output.GetBuffer().AsMemory(0, (int)output.Length), ct).ConfigureAwait(false);
        }
        bool endsWithCrLf = !any || (last2 == (byte)'\r' && last1 == (byte)'\n');
        await destination.WriteAsync(endsWithCrLf ? ".\r\n"u8.ToArray() : "\r\n.\r\n"u8.ToArray(), ct).ConfigureAwait(false);
    }
}
