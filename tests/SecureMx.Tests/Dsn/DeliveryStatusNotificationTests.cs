using System.Text;
using System.Text.RegularExpressions;
using MimeKit;
using MimeKit.Utils;
using SecureMx.Dsn;
using SecureMx.Mail;
using static SecureMx.Tests.Dsn.DsnSamples;

namespace SecureMx.Tests.Dsn;

/// <summary>
/// DSN generation (RFC 3464, RFC 6522 multipart/report, RFC 3461 RET/ENVID/ORCPT, RFC 6533 UTF-8, RFC 3834):
/// every DSN is built, written, parsed back with MimeKit and checked field by field.
/// </summary>
public sealed class DeliveryStatusNotificationTests
{
    // ---- structure -------------------------------------------------------------------------------------

    [Fact]
    public void FailureDsnIsMultipartReportWithTextStatusAndHeaderParts()
    {
        var w = Write(Request(Bounce()));

        Assert.Equal("multipart/report", w.Report.ContentType.MimeType);
        Assert.Equal("delivery-status", w.Report.ContentType.Parameters["report-type"]);
        Assert.Equal("delivery-status", w.Report.ReportType);
        Assert.Equal(3, w.Report.Count);
        Assert.Equal("text/plain", w.Report[0].ContentType.MimeType);
        Assert.Equal("utf-8", w.Report[0].ContentType.Charset);
        Assert.Equal("message/delivery-status", w.Report[1].ContentType.MimeType);
        Assert.IsType<MessageDeliveryStatus>(w.Report[1]);
        // RET not given: headers only.
        Assert.Equal("text/rfc822-headers", w.Report[2].ContentType.MimeType);
        Assert.IsType<TextRfc822Headers>(w.Report[2]);
    }

    [Fact]
    public void TopLevelHeadersComeFromMailerDaemonToTheSenderAndAreAutoReplied()
    {
        var w = Write(Request(Bounce()));
        var m = w.Message;

        var from = Assert.IsType<MailboxAddress>(Assert.Single(m.From));
        Assert.Equal("Mail Delivery System", from.Name);
        Assert.Equal("MAILER-DAEMON@mx.example.net", from.Address);
        Assert.Equal(Sender, Assert.IsType<MailboxAddress>(Assert.Single(m.To)).Address);
        Assert.Equal("auto-replied", m.Headers["Auto-Submitted"]);
        Assert.Equal(Now, m.Date);
        Assert.EndsWith("@mx.example.net", m.MessageId, StringComparison.Ordinal);
        Assert.Equal("1.0", m.Headers[HeaderId.MimeVersion]);
    }

    [Fact]
    public void EveryDsnGetsItsOwnMessageId()
    {
        var a = Write(Request(Bounce()));
        var b = Write(Request(Bounce()));
        Assert.NotEqual(a.Message.MessageId, b.Message.MessageId);
    }

    [Theory]
    [InlineData(DsnAction.Failed, "Delivery Status Notification (Failure)")]
    [InlineData(DsnAction.Delayed, "Delivery Status Notification (Delay)")]
    [InlineData(DsnAction.Delivered, "Delivery Status Notification (Success)")]
    [InlineData(DsnAction.Relayed, "Delivery Status Notification (Success)")]
    [InlineData(DsnAction.Expanded, "Delivery Status Notification (Success)")]
    public void SubjectNamesTheKindOfReport(DsnAction action, string subject)
    {
        var status = action switch { DsnAction.Failed => "5.0.0", DsnAction.Delayed => "4.0.0", _ => "2.0.0" };
        var w = Write(Request(new DsnRecipientReport("bob@remote.example", action, EnhancedStatus.Parse(status))));
        Assert.Equal(subject, w.Message.Subject);
        Assert.Equal(action.ToFieldValue(), w.Status.StatusGroups[1]["Action"]);
    }

    [Fact]
    public void MixedReportIsNamedAfterItsWorstOutcome()
    {
        Assert.Equal("Delivery Status Notification (Failure)", Write(Request(Success(), Delay(), Bounce())).Message.Subject);
        Assert.Equal("Delivery Status Notification (Delay)", Write(Request(Success(), Delay())).Message.Subject);
    }

    [Fact]
    public void OutputHasCrlfLineEndingsEverywhere()
    {
        foreach (var ret in new[] { DsnReturn.Full, DsnReturn.Headers })
        {
            var w = Write(Request(Bounce(), Delay(), Success()) with { Return = ret, EnvelopeId = "QQ314" });
            AssertCrlfOnly(w.Bytes);
            Assert.Equal(w.Bytes.Length, w.Result.Length);
        }
    }

    // ---- message/delivery-status ---------------------------------------------------------------------

    [Fact]
    public void PerMessageGroupNamesReportingMtaEnvelopeIdQueueIdAndArrivalDate()
    {
        var w = Write(Request(Bounce()) with { EnvelopeId = "QQ314" });
        var group = w.Status.StatusGroups[0];

        Assert.Equal(["Original-Envelope-Id", "Reporting-MTA", "X-SecureMx-Queue-ID", "Arrival-Date"], FieldNames(group));
        Assert.Equal("QQ314", group["Original-Envelope-Id"]);
        Assert.Equal("dns; mx.example.net", group["Reporting-MTA"]);
        Assert.Equal(QueueId, group["X-SecureMx-Queue-ID"]);
        Assert.True(DateUtils.TryParse(group["Arrival-Date"], out DateTimeOffset arrival));
        Assert.Equal(Arrival, arrival);
    }

    [Fact]
    public void OriginalEnvelopeIdIsOmittedWithoutEnvid()
    {
        var group = Write(Request(Bounce())).Status.StatusGroups[0];
        Assert.False(group.Contains("Original-Envelope-Id"));
        Assert.Equal("dns; mx.example.net", group["Reporting-MTA"]);
    }

    [Fact]
    public void FailedRecipientGroupCarriesEveryField()
    {
        var group = Write(Request(Bounce())).Status.StatusGroups[1];

        Assert.Equal(["Original-Recipient", "Final-Recipient", "Action", "Status", "Remote-MTA", "Diagnostic-Code", "Last-Attempt-Date"], FieldNames(group));
        // ORCPT echoed as given, including its case (RFC 3461 §4.2).
        Assert.Equal("rfc822; Bob@Remote.example", group["Original-Recipient"]);
        Assert.Equal("rfc822; bob@remote.example", group["Final-Recipient"]);
        Assert.Equal("failed", group["Action"]);
        Assert.Equal("5.1.1", group["Status"]);
        Assert.Equal("dns; mx.remote.example", group["Remote-MTA"]);
        Assert.Equal("smtp; 550 5.1.1 <bob@remote.example>: Recipient address rejected: User unknown", group["Diagnostic-Code"]);
        Assert.True(DateUtils.TryParse(group["Last-Attempt-Date"], out DateTimeOffset last));
        Assert.Equal(LastAttempt, last);
    }

    [Fact]
    public void DelayedRecipientGroupSaysUntilWhenDeliveryIsRetried()
    {
        var group = Write(Request(Delay())).Status.StatusGroups[1];

        Assert.Equal(["Final-Recipient", "Action", "Status", "Remote-MTA", "Last-Attempt-Date", "Will-Retry-Until"], FieldNames(group));
        Assert.Equal("delayed", group["Action"]);
        Assert.Equal("4.7.0", group["Status"]);
        Assert.True(DateUtils.TryParse(group["Will-Retry-Until"], out DateTimeOffset until));
        Assert.Equal(RetryUntil, until);
    }

    [Fact]
    public void WillRetryUntilIsWrittenForDelaysOnly()
    {
        var group = Write(Request(Bounce() with { WillRetryUntil = RetryUntil })).Status.StatusGroups[1];
        Assert.False(group.Contains("Will-Retry-Until"));
    }

    [Fact]
    public void OptionalRecipientFieldsAreOmittedWhenUnknown()
    {
        var group = Write(Request(new DsnRecipientReport("bob@remote.example", DsnAction.Failed, EnhancedStatus.Parse("5.4.7")))).Status.StatusGroups[1];
        Assert.Equal(["Final-Recipient", "Action", "Status"], FieldNames(group));
    }

    [Fact]
    public void OneGroupPerRecipientAndNoEmptyTrailingGroup()
    {
        var w = Write(Request(Bounce("b1@remote.example"), Bounce("b2@remote.example"), Delay("c@secure.example")));
        var groups = w.Status.StatusGroups;

        Assert.Equal(4, groups.Count);
        Assert.All(groups, g => Assert.NotEmpty(g));
        Assert.Equal(["rfc822; b1@remote.example", "rfc822; b2@remote.example", "rfc822; c@secure.example"], groups.Skip(1).Select(g => g["Final-Recipient"]));

        var content = Encoding.ASCII.GetString(PartContent(w.Status));
        Assert.EndsWith("\r\n", content, StringComparison.Ordinal);
        Assert.False(content.EndsWith("\r\n\r\n", StringComparison.Ordinal), "an empty line after the last group parses as one more group");
        Assert.Equal(3, content.Split("\r\n\r\n").Length - 1);
    }

    [Fact]
    public void DiagnosticWithLineBreaksCannotInjectFields()
    {
        var w = Write(Request(Bounce() with { DiagnosticCode = "550-5.1.1 first line\r\n550 5.1.1 second\r\nAction: delivered\nStatus: 2.0.0" }));
        var group = w.Status.StatusGroups[1];

        Assert.Single(group, h => h.Field == "Action");
        Assert.Equal("failed", group["Action"]);
        Assert.Equal("5.1.1", group["Status"]);
        Assert.Equal("smtp; 550-5.1.1 first line 550 5.1.1 second Action: delivered Status: 2.0.0", group["Diagnostic-Code"]);
    }

    [Fact]
    public void LongDiagnosticIsFoldedAndUnfoldsToTheSameText()
    {
        var text = "550 5.7.1 " + string.Join(' ', Enumerable.Range(1, 60).Select(i => $"word{i}"));
        var w = Write(Request(Bounce() with { DiagnosticCode = text }));

        Assert.Equal("smtp; " + text, w.Status.StatusGroups[1]["Diagnostic-Code"]);
        var content = Encoding.ASCII.GetString(PartContent(w.Status));
        Assert.All(content.Split("\r\n"), line => Assert.True(line.Length <= 78, $"line of {line.Length}: {line}"));
        Assert.Contains("\r\n word", content, StringComparison.Ordinal);
    }

    // ---- the human-readable part ---------------------------------------------------------------------

    [Fact]
    public void FailureTextSaysWhoWhyWhatTheServerAnsweredAndWhatToDo()
    {
        var text = Flat(Write(Request(Bounce())).Text);

        Assert.Contains("This is the mail system at host mx.example.net.", text, StringComparison.Ordinal);
        Assert.Contains("could not be delivered", text, StringComparison.Ordinal);
        Assert.Contains("<bob@remote.example>", text, StringComparison.Ordinal);
        Assert.Contains("the recipient's mailbox does not exist (status 5.1.1)", text, StringComparison.Ordinal);
        Assert.Contains("The server mx.remote.example answered: 550 5.1.1 <bob@remote.example>: Recipient", text, StringComparison.Ordinal);
        Assert.Contains("check each address for typing errors", text, StringComparison.Ordinal);
        Assert.Contains("reach the recipient another way", text, StringComparison.Ordinal);
        Assert.Contains(QueueId, text, StringComparison.Ordinal);
        Assert.DoesNotContain("keep trying", text, StringComparison.Ordinal);
    }

    [Fact]
    public void ExplanationFromTheReportIsShownInsteadOfTheStatusSentence()
    {
        var text = Flat(Write(Request(Bounce() with { Status = EnhancedStatus.Parse("5.7.10"), Explanation = "mx.remote.example offers only TLSv1.0." })).Text);
        Assert.Contains("Reason: mx.remote.example offers only TLSv1.0 (status 5.7.10).", text, StringComparison.Ordinal);
        Assert.DoesNotContain("security or policy", text, StringComparison.Ordinal);
    }

    [Fact]
    public void DelayTextSaysUntilWhenSecureMxKeepsTryingAndThatNoActionIsNeeded()
    {
        var text = Flat(Write(Request(Delay())).Text);

        Assert.Contains("has not been delivered yet", text, StringComparison.Ordinal);
        Assert.Contains("Reason: the receiving server offers no STARTTLS (status 4.7.0).", text, StringComparison.Ordinal);
        Assert.Contains($"SecureMx will keep trying until {DateUtils.FormatDate(RetryUntil)}; no action needed.", text, StringComparison.Ordinal);
        Assert.DoesNotContain("could not be delivered", text, StringComparison.Ordinal);
    }

    [Fact]
    public void SuccessTextListsTheDeliveredRecipients()
    {
        var text = Flat(Write(Request(Success())).Text);
        Assert.Contains("was delivered to the recipients below", text, StringComparison.Ordinal);
        Assert.Contains("<dave@remote.example>", text, StringComparison.Ordinal);
        Assert.Contains("answered: 250 2.0.0 Ok: queued as 4bXyZ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Reason:", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("5.1.1", "the recipient's mailbox does not exist")]
    [InlineData("5.2.2", "the recipient's mailbox is full")]
    [InlineData("4.4.7", "the message could not be delivered in time")]
    [InlineData("5.7.1", "the receiving system refused the message for security or policy reasons")]
    [InlineData("5.9.9", "the receiving system refused the message permanently")]
    [InlineData("4.9.9", "a temporary problem prevented delivery")]
    public void StatusCodeGivesTheReasonWhenTheReportHasNoExplanation(string status, string reason)
    {
        var text = Flat(Write(Request(new DsnRecipientReport("bob@remote.example", status[0] == '5' ? DsnAction.Failed : DsnAction.Delayed, EnhancedStatus.Parse(status)))).Text);
        Assert.Contains($"Reason: {reason} (status {status}).", text, StringComparison.Ordinal);
    }

    [Fact]
    public void TextLinesStayShort()
    {
        var w = Write(Request(Bounce(), Delay(), Success()));
        Assert.All(w.Text.Text.Split('\n'), line => Assert.True(line.TrimEnd('\r').Length <= 76, $"line of {line.Length}: {line}"));
    }

    // ---- UTF-8 (RFC 6533) ----------------------------------------------------------------------------

    [Fact]
    public void AsciiDsnUsesPlainDeliveryStatus()
    {
        var w = Write(Request(Bounce()));
        Assert.Equal("message/delivery-status", w.Status.ContentType.MimeType);
        Assert.All(w.Bytes, b => Assert.True(b < 0x80));
        Assert.Equal(new DsnWriteResult(w.Bytes.Length, false, false), w.Result);
    }

    [Fact]
    public void NonAsciiRecipientUsesGlobalDeliveryStatusAndTheUtf8AddressType()
    {
        var w = Write(Request(Bounce("jörg@bücher.example") with { OriginalRecipientType = "utf-8", OriginalRecipient = "j\\x{F6}rg@b\\x{FC}cher.example" }));

        Assert.Equal("message/global-delivery-status", w.Status.ContentType.MimeType);
        var group = w.Status.StatusGroups[1];
        Assert.Equal("utf-8; jörg@bücher.example", group["Final-Recipient"]);
        Assert.Equal("utf-8; j\\x{F6}rg@b\\x{FC}cher.example", group["Original-Recipient"]);
        Assert.Equal("dns; mx.example.net", w.Status.StatusGroups[0]["Reporting-MTA"]);
        Assert.Equal(2, w.Status.StatusGroups.Count);
        Assert.Contains("<jörg@bücher.example>", w.Text.Text, StringComparison.Ordinal);
        // The notice itself is quoted-printable; the report is 8bit.
        Assert.Equal(ContentEncoding.QuotedPrintable, w.Text.ContentTransferEncoding);
        Assert.True(w.Result.EightBit);
        Assert.False(w.Result.SmtpUtf8);
    }

    [Fact]
    public void AsciiRecipientsInAGlobalReportKeepTheRfc822AddressType()
    {
        var w = Write(Request(Bounce("jörg@bücher.example"), Bounce("bob@remote.example")));
        Assert.Equal("message/global-delivery-status", w.Status.ContentType.MimeType);
        Assert.Equal("rfc822; bob@remote.example", w.Status.StatusGroups[2]["Final-Recipient"]);
    }

    [Fact]
    public void NonAsciiSenderNeedsSmtpUtf8()
    {
        var w = Write(Request(Bounce()) with { Sender = "jörg@bücher.example" });

        Assert.True(w.Result.SmtpUtf8);
        Assert.Equal("message/global-delivery-status", w.Status.ContentType.MimeType);
        Assert.Contains("\r\nTo: jörg@", w.Ascii, StringComparison.Ordinal);
    }

    [Fact]
    public void ALabelSenderStaysAscii()
    {
        var w = Write(Request(Bounce()) with { Sender = "alice@xn--bcher-kva.example" });

        Assert.Contains("\r\nTo: alice@xn--bcher-kva.example\r\n", w.Ascii, StringComparison.Ordinal);
        Assert.False(w.Result.SmtpUtf8);
        Assert.Equal("message/delivery-status", w.Status.ContentType.MimeType);
    }

    [Fact]
    public void OriginalWithUtf8HeadersIsReturnedAsMessageGlobal()
    {
        var utf8 = Encoding.UTF8.GetBytes("From: Jörg <jörg@bücher.example>\r\nSubject: Grüße\r\n\r\nHallo\r\n");

        var full = Write(Request(Bounce()) with { Return = DsnReturn.Full, OpenOriginal = () => new MemoryStream(utf8) });
        var message = Assert.IsType<MessagePart>(full.Report[2]);
        Assert.Equal("message/global", message.ContentType.MimeType);
        Assert.Equal(utf8, WriteBack(message.Message));

        var headers = Write(Request(Bounce()) with { Return = DsnReturn.Headers, OpenOriginal = () => new MemoryStream(utf8) });
        var part = Assert.IsType<TextRfc822Headers>(headers.Report[2]);
        Assert.Equal("message/global-headers", part.ContentType.MimeType);
        Assert.Equal("Grüße", part.Message?.Subject);
        Assert.DoesNotContain("Hallo", headers.Ascii, StringComparison.Ordinal);
    }

    // ---- requests ------------------------------------------------------------------------------------

    [Theory]
    [InlineData("")]
    [InlineData("<>")]
    public void NoDsnIsBuiltForTheNullSender(string sender)
    {
        Assert.Throws<ArgumentException>(() => DeliveryStatusNotification.Build(Request(Bounce()) with { Sender = sender }));
    }

    [Fact]
    public void ADsnNeedsAtLeastOneRecipient()
    {
        Assert.Throws<ArgumentException>(() => DeliveryStatusNotification.Build(Request()));
    }

    [Theory]
    [InlineData(6, 0, 0)]
    [InlineData(3, 1, 1)]
    [InlineData(0, 0, 0)]
    [InlineData(5, 1000, 1)]
    [InlineData(5, 1, -1)]
    public void HandBuiltStatusCodesOutsideRfc3463AreRejected(int @class, int subject, int detail)
    {
        Assert.Throws<ArgumentException>(() => DeliveryStatusNotification.Build(Request(Bounce() with { Status = new EnhancedStatus(@class, subject, detail) })));
    }

    [Fact]
    public void RequestFromEnvelopeCopiesSenderEnvidRetAndArrival()
    {
        var envelope = new Envelope(
            QueueId,
            Arrival,
            Sender,
            Original.Length,
            new MailParameters(null, BodyType.EightBitMime, false, DsnReturn.Full, "QQ314"),
            new ClientTrace("mx", "192.0.2.7", "client.example.net", "ESMTPS", null, null),
            [new EnvelopeRecipient("bob@local.example", "bob.alias@example.net", RecipientRoute.Local, "/var/mail/bob", DsnNotify.Failure, "rfc822", "bob.alias@example.net")]);
        var report = DsnRecipientReport.FromEnvelope(envelope.Recipients[0], DsnAction.Failed, EnhancedStatus.Parse("5.2.2"));
        var request = DsnRequest.FromEnvelope(envelope, Host, [report], Now, () => new MemoryStream(Original));

        var w = Write(request);

        Assert.Equal("QQ314", w.Status.StatusGroups[0]["Original-Envelope-Id"]);
        Assert.IsType<MessagePart>(w.Report[2]);
        // Final-Recipient is the address we accepted, not the alias target.
        Assert.Equal("rfc822; bob.alias@example.net", w.Status.StatusGroups[1]["Final-Recipient"]);
        Assert.Equal("rfc822; bob.alias@example.net", w.Status.StatusGroups[1]["Original-Recipient"]);
        Assert.DoesNotContain("bob@local.example", w.Ascii, StringComparison.Ordinal);
        Assert.Contains("mailbox is full", Flat(w.Text), StringComparison.Ordinal);
    }

    // ---- when to send (RFC 3461 §4.1, §6.2; RFC 5321 §4.5.5) -----------------------------------------

    [Theory]
    // The null reverse-path never gets a DSN, whatever NOTIFY says.
    [InlineData("", DsnNotify.Unspecified, DsnAction.Failed, false)]
    [InlineData("<>", DsnNotify.Failure, DsnAction.Failed, false)]
    [InlineData("", DsnNotify.Success, DsnAction.Delivered, false)]
    // NOTIFY=NEVER.
    [InlineData(Sender, DsnNotify.Never, DsnAction.Failed, false)]
    [InlineData(Sender, DsnNotify.Never, DsnAction.Delayed, false)]
    [InlineData(Sender, DsnNotify.Never, DsnAction.Delivered, false)]
    // No NOTIFY: FAILURE,DELAY.
    [InlineData(Sender, DsnNotify.Unspecified, DsnAction.Failed, true)]
    [InlineData(Sender, DsnNotify.Unspecified, DsnAction.Delayed, true)]
    [InlineData(Sender, DsnNotify.Unspecified, DsnAction.Delivered, false)]
    [InlineData(Sender, DsnNotify.Unspecified, DsnAction.Relayed, false)]
    [InlineData(Sender, DsnNotify.Unspecified, DsnAction.Expanded, false)]
    // NOTIFY=SUCCESS only.
    [InlineData(Sender, DsnNotify.Success, DsnAction.Delivered, true)]
    [InlineData(Sender, DsnNotify.Success, DsnAction.Relayed, true)]
    [InlineData(Sender, DsnNotify.Success, DsnAction.Expanded, true)]
    [InlineData(Sender, DsnNotify.Success, DsnAction.Failed, false)]
    [InlineData(Sender, DsnNotify.Success, DsnAction.Delayed, false)]
    // NOTIFY=FAILURE only: no delay warnings.
    [InlineData(Sender, DsnNotify.Failure, DsnAction.Failed, true)]
    [InlineData(Sender, DsnNotify.Failure, DsnAction.Delayed, false)]
    [InlineData(Sender, DsnNotify.Failure, DsnAction.Delivered, false)]
    // NOTIFY=DELAY only.
    [InlineData(Sender, DsnNotify.Delay, DsnAction.Delayed, true)]
    [InlineData(Sender, DsnNotify.Delay, DsnAction.Failed, false)]
    // NOTIFY=SUCCESS,FAILURE,DELAY.
    [InlineData(Sender, DsnNotify.Success | DsnNotify.Failure | DsnNotify.Delay, DsnAction.Failed, true)]
    [InlineData(Sender, DsnNotify.Success | DsnNotify.Failure | DsnNotify.Delay, DsnAction.Delayed, true)]
    [InlineData(Sender, DsnNotify.Success | DsnNotify.Failure | DsnNotify.Delay, DsnAction.Delivered, true)]
    [InlineData(Sender, DsnNotify.Failure | DsnNotify.Delay, DsnAction.Delivered, false)]
    public void ShouldSendFollowsNotifyAndNeverAnswersTheNullSender(string sender, DsnNotify notify, DsnAction action, bool expected)
    {
        Assert.Equal(expected, DeliveryStatusNotification.ShouldSend(sender, notify, action));
    }
}
