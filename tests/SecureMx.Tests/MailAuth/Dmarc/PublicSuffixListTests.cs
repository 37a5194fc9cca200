using SecureMx.MailAuth.Dmarc;

namespace SecureMx.Tests.MailAuth.Dmarc;

public sealed class PublicSuffixListTests
{
    private static readonly PublicSuffixList List = PublicSuffixList.Parse(["// comment", "com", "uk", "co.uk", "*.ck", "!www.ck", "", "example.net // private"]);

    [Theory]
    [InlineData("mail.example.com", "example.com")]
    [InlineData("example.com", "example.com")]
    [InlineData("a.b.example.co.uk", "example.co.uk")]
    [InlineData("shop.foo.ck", "shop.foo.ck")]
    [InlineData("x.www.ck", "www.ck")]
    [InlineData("a.b.unknowntld", "b.unknowntld")]
    [InlineData("MAIL.Example.COM.", "example.com")]
    public void TheOrganizationalDomainIsTheSuffixAndOneLabel(string domain, string expected)
    {
        Assert.Equal(expected, List.OrganizationalDomain(domain));
    }

    [Fact]
    public void WithoutTheListTheLastTwoLabelsAreTaken()
    {
        var list = PublicSuffixList.Load("/nonexistent/public_suffix_list.dat", out var problem);
        Assert.False(list.IsLoaded);
        Assert.NotNull(problem);
        Assert.Equal("co.uk", list.OrganizationalDomain("a.example.co.uk"));
    }

    [Fact]
    public void DebiansListIsReadWhereItIsInstalled()
    {
        Assert.SkipUnless(File.Exists(PublicSuffixList.DefaultPath), "Debian package publicsuffix not installed (scripts/install-test-deps.sh installs it)");
        var list = PublicSuffixList.Load(PublicSuffixList.DefaultPath, out var problem);
        Assert.Null(problem);
        Assert.Equal("example.co.uk", list.OrganizationalDomain("mail.example.co.uk"));
    }
}
