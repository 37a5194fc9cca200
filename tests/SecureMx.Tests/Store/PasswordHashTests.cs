using SecureMx.Store;

namespace SecureMx.Tests.Store;

public sealed class PasswordHashTests
{
    [Fact]
    public void AHashVerifiesItsPasswordAndNoOther()
    {
        var hash = PasswordHash.Create("correct horse battery");
        Assert.Equal(PasswordCheck.Correct, PasswordHash.Check("correct horse battery", hash));
        Assert.Equal(PasswordCheck.Wrong, PasswordHash.Check("correct horse batterY", hash));
        Assert.DoesNotContain("correct", hash);
    }

    [Fact]
    public void TheSamePasswordHashesDifferentlyEachTime() =>
        Assert.NotEqual(PasswordHash.Create("password123"), PasswordHash.Create("password123"));

    [Theory]
    [InlineData("")]
    [InlineData("x")]
    [InlineData("pbkdf2-sha256$1000$!!$??")]
    [InlineData("AQAAAA==")]
    public void SomethingThatIsNoHashMatchesNothing(string stored) =>
        Assert.Equal(PasswordCheck.Wrong, PasswordHash.Check("password123", stored));
}
