using System.Text;
using MimeKit;
using SecureMx.Dsn;
using SecureMx.Mail;
using static SecureMx.Tests.Dsn.DsnSamples;

namespace SecureMx.Tests.Dsn;

/// <summary>
/// The DSN in the reader's language (<see cref="DsnRequest.Language"/>): German subject, sender name and
/// text for a German account, English otherwise; the machine-readable part (RFC 3464) and the returned
/// message are the same in every language; the text part says its language (RFC 3282) and stays 7-bit.
/// </summary>
public sealed class DsnLanguageTests
{
    private static DsnRequest German(params DsnRecipientReport[] reports) => Request(reports) with { Language = MailLanguage.German };

    [Fact]
    public void WithoutALanguageTheDsnIsEnglish()
    {
        var w = Write(Request(Bounce()));
        Assert.Equal("Delivery Status Notification (Failure)", w.Message.Subject);
        Assert.Equal("Mail Delivery System", w.Message.From.Mailboxes.Single().Name);
        Assert.StartsWith("This is the mail system at host mx.example.net.", w.Text.Text, StringComparison.Ordinal);
        Assert.Equal("en", w.Text.Headers[HeaderId.ContentLanguage]);
    }

    [Theory]
    [InlineData(DsnAction.Failed, "5.1.1", "Unzustellbar: Quarterly figures")]
    [InlineData(DsnAction.Delayed, "4.4.1", "Zustellung verzögert: Quarterly figures")]
    [InlineData(DsnAction.Delivered, "2.0.0", "Zugestellt: Quarterly figures")]
    [InlineData(DsnAction.Relayed, "2.0.0", "Zugestellt: Quarterly figures")]
    public void GermanSubjectNamesTheOutcomeBeforeTheOriginalSubject(DsnAction action, string status, string subject)
    {
        var w = Write(German(new DsnRecipientReport("bob@remote.example", action, EnhancedStatus.Parse(status))));
        Assert.Equal(subject, w.Message.Subject);
        Assert.Equal("E-Mail-Zustellsystem", w.Message.From.Mailboxes.Single().Name);
        Assert.Equal("MAILER-DAEMON@mx.example.net", w.Message.From.Mailboxes.Single().Address);
    }

    [Fact]
    public void GermanSubjectWithoutTheOriginalSaysYourMessage()
    {
        Assert.Equal("Unzustellbar: Ihre Nachricht", Write(German(Bounce()) with { OpenOriginal = null }).Message.Subject);
        var noSubject = Encoding.ASCII.GetBytes("From: alice@example.net\r\nTo: bob@remote.example\r\n\r\nHello\r\n");
        Assert.Equal("Unzustellbar: Ihre Nachricht", Write(German(Bounce()) with { OpenOriginal = () => new MemoryStream(noSubject) }).Message.Subject);
    }

    [Fact]
    public void AQuotedSubjectIsDecodedCleanedAndCut()
    {
        var encoded = Encoding.ASCII.GetBytes("Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n\taus\tKoeln\r\n\r\nHallo\r\n");
        Assert.Equal("Unzustellbar: Grüße aus Koeln", Write(German(Bounce()) with { OpenOriginal = () => new MemoryStream(encoded) }).Message.Subject);

        var longSubject = Encoding.ASCII.GetBytes("Subject: " + string.Join(' ', Enumerable.Repeat("lorem", 100)) + "\r\n\r\nx\r\n");
        var subject = Write(German(Bounce()) with { OpenOriginal = () => new MemoryStream(longSubject) }).Message.Subject;
        Assert.Equal("Unzustellbar: ".Length + 160 + 1, subject!.Length);
        Assert.EndsWith("…", subject, StringComparison.Ordinal);
    }

    [Fact]
    public void GermanFailureTextSaysWhoWhyQuotesTheServerAndWhatToDo()
    {
        var w = Write(German(Bounce()));
        var text = Flat(w.Text);

        Assert.Equal("de", w.Text.Headers[HeaderId.ContentLanguage]);
        Assert.StartsWith("Dies ist eine automatische Nachricht des Mailservers mx.example.net.", w.Text.Text, StringComparison.Ordinal);
        Assert.Contains("Ihre Nachricht konnte den folgenden Empfängern nicht zugestellt werden.", text, StringComparison.Ordinal);
        Assert.Contains("<bob@remote.example>", text, StringComparison.Ordinal);
        Assert.Contains("Grund: Das Postfach des Empfängers existiert nicht (Status 5.1.1).", text, StringComparison.Ordinal);
        // The remote reply is quoted as it came, in its own language.
        Assert.Contains("Der Server mx.remote.example antwortete: 550 5.1.1 <bob@remote.example>: Recipient address rejected: User unknown", text, StringComparison.Ordinal);
        Assert.Contains("Letzter Versuch: 03.06.2025 10:00:07 UTC", text, StringComparison.Ordinal);
        Assert.Contains("Was Sie tun können: Prüfen Sie jede Adresse auf Tippfehler", text, StringComparison.Ordinal);
        Assert.Contains("Im Anhang finden Sie denselben Bericht in maschinenlesbarer Form (RFC 3464) und die Kopfzeilen Ihrer Nachricht.", text, StringComparison.Ordinal);
        Assert.Contains($"Ihre Nachricht ist am 03.06.2025 09:05:07 UTC mit der Queue-ID {QueueId} eingegangen.", text, StringComparison.Ordinal);
        Assert.Contains("Postmaster von mx.example.net", text, StringComparison.Ordinal);
        // Nothing of the English text is left.
        foreach (var english in new[] { "This is the mail system", "Reason:", "answered", "What you can do", "Last attempt", "attached", "received on" })
            Assert.DoesNotContain(english, text, StringComparison.Ordinal);
    }

    [Fact]
    public void GermanDelayTextSaysUntilWhenAndThatNothingNeedsDoing()
    {
        var text = Flat(Write(German(Delay())).Text);

        Assert.Contains("Ihre Nachricht konnte den folgenden Empfängern noch nicht zugestellt werden.", text, StringComparison.Ordinal);
        Assert.Contains("Grund: Das empfangende System hat die Nachricht aus Sicherheits- oder Richtliniengründen abgelehnt (Status 4.7.0).", text, StringComparison.Ordinal);
        // SecureMx's own explanation (English, as in the logs) follows as the technical detail, since no server reply is quoted.
        Assert.Contains("Technische Angabe: the receiving server offers no STARTTLS", text, StringComparison.Ordinal);
        Assert.Contains("SecureMx versucht es weiter bis 04.06.2025 09:05:07 UTC; Sie müssen nichts unternehmen.", text, StringComparison.Ordinal);
        Assert.Contains("erhalten Sie eine abschließende Benachrichtigung", text, StringComparison.Ordinal);
        Assert.DoesNotContain("nicht zugestellt werden. Es werden keine weiteren", text, StringComparison.Ordinal);
    }

    [Fact]
    public void GermanTlsFailureExplainsMandatoryTlsInsteadOfTheAddressAdvice()
    {
        var tls = new DsnRecipientReport("carol@secure.example", DsnAction.Failed, EnhancedStatus.Parse("5.7.4"))
        {
            Explanation = "5.7.4 TLS is required, but was not offered by host mx.secure.example",
            Cause = OutcomeReason.Expired,
        };
        var text = Flat(Write(German(tls)).Text);

        Assert.Contains("Grund: Kein empfangender Server bot die geforderte verschlüsselte Verbindung (TLS) an (Status 5.7.4).", text, StringComparison.Ordinal);
        Assert.Contains("Technische Angabe: 5.7.4 TLS is required, but was not offered by host mx.secure.example", text, StringComparison.Ordinal);
        Assert.Contains("TLS-Pflicht", text, StringComparison.Ordinal);
        Assert.Contains("niemals unverschlüsselt", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Tippfehler", text, StringComparison.Ordinal);
    }

    [Fact]
    public void GermanTextSaysTheAdministratorReturnedTheMessage()
    {
        var returned = new DsnRecipientReport("bob@remote.example", DsnAction.Failed, EnhancedStatus.PermanentFailure)
        {
            Explanation = "5.0.0 returned to the sender by the mail administrator; last error: 4.4.3 SERVFAIL",
            Cause = OutcomeReason.Administrator,
        };
        var text = Flat(Write(German(returned)).Text);
        Assert.Contains("Grund: Der Mailadministrator hat die Nachricht an Sie zurückgeschickt (Status 5.0.0).", text, StringComparison.Ordinal);
        Assert.Contains("Technische Angabe: 5.0.0 returned to the sender by the mail administrator; last error: 4.4.3 SERVFAIL", text, StringComparison.Ordinal);
    }

    [Fact]
    public void GermanTextLinesStayShort()
    {
        var w = Write(German(Bounce(), Delay(), Success()));
        Assert.All(w.Text.Text.Split('\n'), line => Assert.True(line.TrimEnd('\r').Length <= 76, $"line of {line.Length}: {line}"));
    }

    [Fact]
    public void GermanDsnIsUtf8QuotedPrintableAndNeedsNeither8BitMimeNorSmtpUtf8()
    {
        var w = Write(German(Bounce()));

        Assert.Equal("utf-8", w.Text.ContentType.Charset);
        Assert.Equal(ContentEncoding.QuotedPrintable, w.Text.ContentTransferEncoding);
        // Umlauts in the subject travel as an encoded-word (RFC 2047), in the body as quoted-printable: 7-bit on the wire.
        Assert.All(w.Bytes, b => Assert.True(b < 0x80));
        Assert.Equal(new DsnWriteResult(w.Bytes.Length, false, false), w.Result);
        Assert.Contains("Empfängern", w.Text.Text, StringComparison.Ordinal);
        AssertCrlfOnly(w.Bytes);
    }

    [Fact]
    public void TheDeliveryStatusPartAndTheReturnedHeadersAreTheSameInEveryLanguage()
    {
        foreach (var request in new[] { Request(Bounce(), Delay(), Success()) with { EnvelopeId = "QQ314" }, Request(Bounce()) with { Return = DsnReturn.Full } })
        {
            var english = Write(request with { Language = MailLanguage.English });
            var german = Write(request with { Language = MailLanguage.German });

            Assert.Equal(english.Report.Count, german.Report.Count);
            Assert.Equal(PartBytes(english.Report[1]), PartBytes(german.Report[1]));
            Assert.Equal(PartBytes(english.Report[2]), PartBytes(german.Report[2]));
            Assert.NotEqual(PartBytes(english.Report[0]), PartBytes(german.Report[0]));
        }
    }

    /// <summary>A MIME part as written: its header fields and its content.</summary>
    private static byte[] PartBytes(MimeEntity part)
    {
        using var ms = new MemoryStream();
        part.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, ms);
        return ms.ToArray();
    }
}
