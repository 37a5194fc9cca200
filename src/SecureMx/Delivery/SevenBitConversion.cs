namespace SecureMx.Delivery;

/// <summary>
/// RFC 6152 §3: 8-bit content must not go to a server that does not offer 8BITMIME. Rather than
/// bounce, the message is converted to 7-bit MIME (quoted-printable/base64): the content survives,
/// only its transfer encoding changes (a DKIM signature over the body may not).
/// </summary>
public static class SevenBitConversion
{
    /// <summary>The message with every 8-bit MIME part re-encoded for 7-bit transport (MimeKit's Prepare).</summary>
    public static async Task<byte[]> ConvertAsync(Func<Stream> openData, CancellationToken ct)
    {
        await using var input = openData();
        using var message = await MimeKit.MimeMessage.LoadAsync(input, ct).ConfigureAwait(false);
        message.Prepare(MimeKit.EncodingConstraint.SevenBit);
        var format = MimeKit.FormatOptions.Default.Clone();
        format.NewLineFormat = MimeKit.NewLineFormat.Dos;
        using var output = new MemoryStream();
        await message.WriteToAsync(format, output, ct).ConfigureAwait(false);
        return output.ToArray();
    }
}
