using System.Text;
using System.Text.RegularExpressions;
using MimeKit;
using SecureMx.Dsn;
using SecureMx.Mail;

namespace SecureMx.Tests.Dsn;

/// <summary>One original message, its reports and the helpers that build, write and parse back a DSN, for the DSN tests.</summary>
internal static class DsnSamples
{
    internal const string Host = "mx.example.net";
    internal const string QueueId = "0123456789ABCDEF";
    internal const string Sender = "alice@example.net";
    internal static readonly DateTimeOffset Arrival = new(2025, 6, 3, 9, 5, 7, TimeSpan.Zero);
    internal static readonly DateTimeOffset Now = Arrival.AddHours(1);
    internal static readonly DateTimeOffset LastAttempt = Arrival.AddMinutes(55);
    internal static readonly DateTimeOffset RetryUntil = Arrival.AddHours(24);

    internal const string OriginalHeaders =
        "Received: from client.example.net ([192.0.2.7])\r\n" +
        "\tby mx.example.net (SecureMx) with ESMTPS id 0123456789ABCDEF\r\n" +
        "\tfor <bob@remote.example>; Tue, 03 Jun 2025 09:05:07 +0000\r\n" +
        "From: Alice <alice@example.net>\r\n" +
        "To: Bob <bob@remote.example>\r\n" +
        "Subject: Quarterly figures\r\n" +
        "Message-ID: <q1@example.net>\r\n" +
        "MIME-Version: 1.0\r\n" +
        "Content-Type: text/plain; charset=utf-8\r\n" +
        "Content-Transfer-Encoding: 8bit\r\n";

    internal const string OriginalBody = "Hello Bob,\r\n\r\nthe figures: 42 €.\r\n.\r\nFrom here on it gets interesting.\r\n";

    internal static readonly byte[] Original = Encoding.UTF8.GetBytes(OriginalHeaders + "\r\n" + OriginalBody);

    internal static DsnRecipientReport Bounce(string rcpt = "bob@remote.example") => new(rcpt, DsnAction.Failed, EnhancedStatus.Parse("5.1.1"))
    {
        OriginalRecipientType = "rfc822",
        OriginalRecipient = "Bob@Remote.example",
        RemoteMta = "mx.remote.example",
        DiagnosticCode = "550 5.1.1 <bob@remote.example>: Recipient address rejected: User unknown",
        LastAttemptDate = LastAttempt,
    };

    internal static DsnRecipientReport Delay(string rcpt = "carol@secure.example") => new(rcpt, DsnAction.Delayed, EnhancedStatus.Parse("4.7.0"))
    {
        RemoteMta = "mx.secure.example",
        Explanation = "the receiving server offers no STARTTLS",
        LastAttemptDate = LastAttempt,
        WillRetryUntil = RetryUntil,
    };

    internal static DsnRecipientReport Success(string rcpt = "dave@remote.example") => new(rcpt, DsnAction.Delivered, EnhancedStatus.Parse("2.0.0"))
    {
        RemoteMta = "mx.remote.example",
        DiagnosticCode = "250 2.0.0 Ok: queued as 4bXyZ",
        LastAttemptDate = LastAttempt,
    };

    internal static DsnRequest Request(params DsnRecipientReport[] reports) =>
        new(Host, QueueId, Sender, Arrival, reports, Now) { OpenOriginal = () => new MemoryStream(Original, writable: false) };

    internal sealed record Written(MimeMessage Message, byte[] Bytes, DsnWriteResult Result)
    {
        public MultipartReport Report => Assert.IsType<MultipartReport>(Message.Body);
        public TextPart Text => Assert.IsType<TextPart>(Report[0]);
        public MessageDeliveryStatus Status => Assert.IsType<MessageDeliveryStatus>(Report[1]);
        public string Ascii => Encoding.UTF8.GetString(Bytes);
    }

    internal static Written Write(DsnRequest request)
    {
        using var dsn = DeliveryStatusNotification.Build(request);
        using var output = new MemoryStream();
        var result = DeliveryStatusNotification.WriteTo(dsn, output);
        var bytes = output.ToArray();
        return new Written(MimeMessage.Load(new MemoryStream(bytes)), bytes, result);
    }

    internal static byte[] WriteBack(MimeMessage? message)
    {
        Assert.NotNull(message);
        using var ms = new MemoryStream();
        message.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, ms);
        return ms.ToArray();
    }

    /// <summary>The text part with its word-wrapping undone, so sentences can be searched for.</summary>
    internal static string Flat(TextPart part) => Regex.Replace(part.Text, @"\s+", " ");

    internal static string[] FieldNames(HeaderList group) => group.Select(h => h.Field).ToArray();

    internal static byte[] PartContent(MimePart part)
    {
        Assert.NotNull(part.Content);
        using var ms = new MemoryStream();
        part.Content.DecodeTo(ms);
        return ms.ToArray();
    }

    internal static void AssertCrlfOnly(byte[] bytes)
    {
        for (int i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == '\n') Assert.True(i > 0 && bytes[i - 1] == '\r', $"bare LF at offset {i}");
            if (bytes[i] == '\r') Assert.True(i + 1 < bytes.Length && bytes[i + 1] == '\n', $"bare CR at offset {i}");
        }
    }
}
