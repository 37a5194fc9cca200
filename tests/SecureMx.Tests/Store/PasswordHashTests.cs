using Microsoft.AspNetCore.Identity;
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
    public void ANewHashIsArgon2idWithTheCurrentParametersInThePhcFormDovecotReads()
    {
        var hash = PasswordHash.Create("password123");
        Assert.Matches(@"^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$", hash);
        Assert.True(PasswordHash.IsReadableByDovecot(hash));
    }

    [Fact]
    public void TheSamePasswordHashesDifferentlyEachTime() =>
        Assert.NotEqual(PasswordHash.Create("password123"), PasswordHash.Create("password123"));

    [Fact]
    public void NonAsciiPasswordsAreHashedAsUtf8()
    {
        var hash = PasswordHash.Create("Größe straße 🔑");
        Assert.Equal(PasswordCheck.Correct, PasswordHash.Check("Größe straße 🔑", hash));
        Assert.Equal(PasswordCheck.Wrong, PasswordHash.Check("Grosse strasse 🔑", hash));
    }

    [Fact]
    public void AnArgon2idHashWithWeakerParametersVerifiesButIsOutdated()
    {
        // m=4096, t=1 (made with the same library; the password is "password123").
        var weak = new Isopoh.Cryptography.Argon2.Argon2Config
        {
            Type = Isopoh.Cryptography.Argon2.Argon2Type.HybridAddressing, MemoryCost = 4096, TimeCost = 1, Lanes = 1, Threads = 1,
            Password = "password123"u8.ToArray(), Salt = new byte[16], HashLength = 32,
        };
        var stored = Isopoh.Cryptography.Argon2.Argon2.Hash(weak);
        Assert.Equal(PasswordCheck.CorrectButOutdated, PasswordHash.Check("password123", stored));
        Assert.Equal(PasswordCheck.Wrong, PasswordHash.Check("password124", stored));
    }

    [Fact]
    public void AnAspNetIdentityHashOfTheEarlierReleasesVerifiesButIsOutdatedAndDovecotCannotReadIt()
    {
        var hasher = new PasswordHasher<object>(Microsoft.Extensions.Options.Options.Create(new PasswordHasherOptions { IterationCount = 1000 }));
        var stored = hasher.HashPassword(new object(), "password123");
        Assert.Equal(PasswordCheck.CorrectButOutdated, PasswordHash.Check("password123", stored));
        Assert.Equal(PasswordCheck.Wrong, PasswordHash.Check("password12", stored));
        Assert.False(PasswordHash.IsReadableByDovecot(stored));
    }

    [Theory]
    [InlineData("")]
    [InlineData("x")]
    [InlineData("pbkdf2-sha256$1000$!!$??")]
    [InlineData("AQAAAA==")]
    [InlineData("$argon2id$")]
    [InlineData("$argon2id$v=19$m=19456,t=2,p=1$$")]
    [InlineData("$argon2id$v=19$m=19456,t=2,p=1$!!!!$????")]
    [InlineData("$argon2i$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    // Parameters far beyond ours must not make one login cost gigabytes or minutes.
    [InlineData("$argon2id$v=19$m=4194304,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$argon2id$v=19$m=19456,t=1000,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void SomethingThatIsNoUsableHashMatchesNothing(string stored) =>
        Assert.Equal(PasswordCheck.Wrong, PasswordHash.Check("password123", stored));
}
