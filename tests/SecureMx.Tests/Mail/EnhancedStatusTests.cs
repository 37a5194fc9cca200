using SecureMx.Mail;

namespace SecureMx.Tests.Mail;

/// <summary>Enhanced status codes (RFC 3463 §2): syntax, classes, and the deferral-to-bounce step.</summary>
public sealed class EnhancedStatusTests
{
    [Theory]
    [InlineData("2.0.0", 2, 0, 0)]
    [InlineData("5.1.10", 5, 1, 10)]
    [InlineData("4.7.5", 4, 7, 5)]
    [InlineData("5.999.999", 5, 999, 999)]
    public void ParsesClassSubjectAndDetail(string text, int @class, int subject, int detail)
    {
        Assert.True(EnhancedStatus.TryParse(text, out var s));
        Assert.Equal(new EnhancedStatus(@class, subject, detail), s);
        Assert.Equal(text, s.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("5.1")]
    [InlineData("5.1.1.1")]
    [InlineData("3.1.1")]
    [InlineData("5.01.1")]
    [InlineData("5.1.1000")]
    [InlineData("5.1.a")]
    [InlineData(" 5.1.1")]
    [InlineData("5.1.1 ")]
    [InlineData("5..1")]
    [InlineData("6.0.0")]
    [InlineData("550")]
    public void RefusesAnythingElse(string text)
    {
        Assert.False(EnhancedStatus.TryParse(text, out _));
        Assert.Throws<FormatException>(() => EnhancedStatus.Parse(text));
    }

    [Fact]
    public void ATransientStatusBecomesThePermanentStatusOfTheSameCause()
    {
        Assert.Equal(new EnhancedStatus(5, 7, 5), EnhancedStatus.CryptographicFailure.AsPermanent());
        Assert.Equal(new EnhancedStatus(5, 7, 4), EnhancedStatus.SecurityNotSupported.AsPermanent());
        Assert.True(EnhancedStatus.SecurityNotSupported.IsTransient);
        Assert.True(EnhancedStatus.SecurityNotSupported.AsPermanent().IsPermanent);
    }

    [Theory]
    [InlineData(250, "2.0.0")]
    [InlineData(451, "4.0.0")]
    [InlineData(554, "5.0.0")]
    public void TheGenericCodeFollowsTheReplyClass(int code, string expected)
    {
        Assert.Equal(expected, EnhancedStatus.Generic(code).ToString());
    }
}
