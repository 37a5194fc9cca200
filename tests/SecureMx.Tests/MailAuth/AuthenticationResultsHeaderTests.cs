using SecureMx.MailAuth;
using SecureMx.MailAuth.Dkim;
using SecureMx.MailAuth.Dmarc;
using SecureMx.MailAuth.Spf;

namespace SecureMx.Tests.MailAuth;

public sealed class AuthenticationResultsHeaderTests
{
    [Fact]
    public void AllThreeMethodsAreWrittenOneALine()
    {
        var header = AuthenticationResultsHeader.Build("mx.example.org", "alice@sender.example", "mail.sender.example",
            new SpfVerdict(SpfResult.Pass),
            [new DkimSignatureResult(DkimResult.Pass, "sender.example", "s1"), new DkimSignatureResult(DkimResult.Fail, "esp.example", "k")],
            new DmarcVerdict(DmarcResult.Pass, "sender.example", DmarcPolicy.Reject, DmarcPolicy.None));
        Assert.Equal(
            "Authentication-Results: mx.example.org;\r\n" +
            "\tspf=pass smtp.mailfrom=alice@sender.example;\r\n" +
            "\tdkim=pass header.d=sender.example header.s=s1;\r\n" +
            "\tdkim=fail header.d=esp.example header.s=k;\r\n" +
            "\tdmarc=pass (p=reject dis=none) header.from=sender.example\r\n", header);
    }

    [Fact]
    public void TheNullSenderIsReportedWithTheHeloNameAndNoSignatureAsDkimNone()
    {
        var header = AuthenticationResultsHeader.Build("mx.example.org", "", "mail.sender.example", new SpfVerdict(SpfResult.SoftFail), [],
            new DmarcVerdict(DmarcResult.None, "sender.example"));
        Assert.Contains("spf=softfail smtp.helo=mail.sender.example;", header);
        Assert.Contains("dkim=none;", header);
        Assert.Contains("dmarc=none header.from=sender.example", header);
    }

    [Fact]
    public void HostileValuesAreQuotedAndCannotBreakTheField()
    {
        var header = AuthenticationResultsHeader.Build("mx.example.org", "x\"y; dkim=pass@sender.example", "a\r\nX-Injected: 1",
            new SpfVerdict(SpfResult.None), [new DkimSignatureResult(DkimResult.Neutral, "evil;dkim=pass", "s\r\nX: y")], new DmarcVerdict(DmarcResult.PermError, null));
        Assert.DoesNotContain("\r\nX", header);
        Assert.Contains("smtp.mailfrom=\"x\\\"y; dkim=pass\"@sender.example", header);
        Assert.Contains("header.d=\"evil;dkim=pass\"", header);
        Assert.Equal(5, header.Split("\r\n").Length); // four lines and the empty rest after the last CRLF
    }
    [Fact]
    public void TheDeliveryLogReadsTheSummaryBackFromTheField()
    {
        var header = AuthenticationResultsHeader.Build("mx.example.org", "a@sender.example", "h.sender.example", new SpfVerdict(SpfResult.SoftFail),
            [new DkimSignatureResult(DkimResult.Pass, "sender.example", "s1"), new DkimSignatureResult(DkimResult.Fail, "esp.example", "k")],
            new DmarcVerdict(DmarcResult.Pass, "sender.example", DmarcPolicy.None, DmarcPolicy.None));
        Assert.Equal("spf=softfail dkim=pass,fail dmarc=pass", AuthenticationResultsHeader.SummaryOf(header));
    }
}
