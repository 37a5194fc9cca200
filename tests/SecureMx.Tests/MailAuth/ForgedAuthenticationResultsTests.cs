using System.Text;
using SecureMx.MailAuth;

namespace SecureMx.Tests.MailAuth;

public sealed class ForgedAuthenticationResultsTests
{
    private static string? Remove(string header) =>
        ForgedAuthenticationResults.Remove(Encoding.ASCII.GetBytes(header), "mx.example.org") is { } b ? Encoding.ASCII.GetString(b) : null;

    [Fact]
    public void FieldsClaimingOurAuthservIdAreRemovedWithTheirFolds()
    {
        var header = "Authentication-Results: mx.example.org;\r\n\tspf=pass smtp.mailfrom=a@evil.example\r\n" +
                     "Subject: hi\r\n" +
                     "authentication-results :  (forged) MX.Example.Org. 1; dkim=pass\r\n" +
                     "Authentication-Results: other.example; dkim=pass header.d=evil.example\r\n" +
                     "\r\n";
        Assert.Equal("Subject: hi\r\nAuthentication-Results: other.example; dkim=pass header.d=evil.example\r\n\r\n", Remove(header));
    }

    [Fact]
    public void AQuotedAuthservIdIsOursToo()
    {
        Assert.Equal("X: y\r\n\r\n", Remove("Authentication-Results: \"mx.example.org\"; none\r\nX: y\r\n\r\n"));
    }

    [Fact]
    public void AHeaderWithoutOurFieldsIsLeftAlone()
    {
        Assert.Null(Remove("Authentication-Results: mx.example.org.evil.example; spf=pass\r\nX-Authentication-Results: mx.example.org; spf=pass\r\n\r\n"));
    }

    [Fact]
    public void NothingInTheBodyIsTouched()
    {
        Assert.Null(Remove("Subject: x\r\n\r\nAuthentication-Results: mx.example.org; spf=pass\r\n"));
    }

    [Fact]
    public void AHeaderSectionWithoutEndIsFilteredToItsEnd()
    {
        Assert.Equal("Subject: x\r\n", Remove("Subject: x\r\nAuthentication-Results: mx.example.org; spf=pass"));
    }
}
