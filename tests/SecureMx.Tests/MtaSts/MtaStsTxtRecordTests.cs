using SecureMx.MtaSts;

namespace SecureMx.Tests.MtaSts;

/// <summary>The "_mta-sts" TXT record (RFC 8461 §3.1): selecting the one record among a name's TXT records, and its fields.</summary>
public sealed class MtaStsTxtRecordTests
{
    [Fact]
    public void TheRfcExampleParses()
    {
        // RFC 8461 §3.1: _mta-sts.example.com. IN TXT "v=STSv1; id=20160831085700Z;"
        var (record, error) = MtaStsTxtRecord.Select(["v=STSv1; id=20160831085700Z;"]);
        Assert.Null(error);
        Assert.Equal("20160831085700Z", record!.Id);
        Assert.Equal("v=STSv1; id=20160831085700Z;", record.ToText());
    }

    [Fact]
    public void OtherTxtRecordsAreIgnored()
    {
        var (record, error) = MtaStsTxtRecord.Select(["v=spf1 -all", "google-site-verification=abc", "v=STSv1;id=abc123"]);
        Assert.Null(error);
        Assert.Equal("abc123", record!.Id);
    }

    [Fact]
    public void NoStsRecordIsNoPolicyWithoutAnError()
    {
        Assert.Equal((null, null), MtaStsTxtRecord.Select(["v=spf1 -all"]));
        Assert.Equal((null, null), MtaStsTxtRecord.Select([]));
        // The version must begin the record, case-sensitively.
        Assert.Equal((null, null), MtaStsTxtRecord.Select(["id=abc; v=STSv1", "V=STSV1; id=abc"]));
    }

    [Fact]
    public void TwoStsRecordsAreNoPolicyWithTheReason()
    {
        var (record, error) = MtaStsTxtRecord.Select(["v=STSv1; id=a1", "v=STSv1; id=b2"]);
        Assert.Null(record);
        Assert.Contains("2 TXT records begin with v=STSv1", error);
    }

    [Theory]
    [InlineData("v=STSv1;", "has no id")]
    [InlineData("v=STSv1; id=", "is not 1 to 32 letters and digits")]
    [InlineData("v=STSv1; id=2016-08-31", "is not 1 to 32 letters and digits")]
    [InlineData("v=STSv1; id=123456789012345678901234567890123", "is not 1 to 32 letters and digits")]
    [InlineData("v=STSv1; garbage; id=abc", "is not key=value")]
    [InlineData("v=STSv10; id=abc", "does not begin with v=STSv1")]
    public void ABrokenRecordIsNoPolicyWithTheReason(string text, string reason)
    {
        var (record, error) = MtaStsTxtRecord.Select([text]);
        Assert.Null(record);
        Assert.Contains(reason, error);
    }

    [Fact]
    public void ExtensionFieldsAndSpacesAreAllowed()
    {
        var (record, error) = MtaStsTxtRecord.Parse("v=STSv1 ;  id=ABCdef123 ; ext=value");
        Assert.Null(error);
        Assert.Equal("ABCdef123", record!.Id);
        Assert.Equal("12345678901234567890123456789012", MtaStsTxtRecord.Parse("v=STSv1; id=12345678901234567890123456789012").Record!.Id);
    }

    [Fact]
    public void NamesOfTheRecordAndThePolicyHost()
    {
        Assert.Equal("_mta-sts.example.com", MtaStsTxtRecord.OwnerName("example.com."));
        Assert.Equal("mta-sts.example.com", MtaStsTxtRecord.PolicyHost("example.com"));
    }
}
