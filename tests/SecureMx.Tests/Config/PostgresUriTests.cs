using SecureMx.Config;

namespace SecureMx.Tests.Config;

/// <summary>store.connectionString's URI: what it accepts, and that a password never gets in.</summary>
public sealed class PostgresUriTests
{
    [Fact]
    public void AUserHostPortAndDatabaseAreRead()
    {
        var u = PostgresUri.Parse("postgresql://securemx@db.example.net:6432/mail?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem");
        Assert.Equal(("securemx", "db.example.net", 6432, "mail"), (u.User, u.Host, u.Port, u.Database));
        Assert.Equal("verify-full", u.Parameters["sslmode"]);
        Assert.Equal("/etc/ssl/db-ca.pem", u.Parameters["sslrootcert"]);
    }

    [Fact]
    public void ThePortDefaultsTo5432AndAnIPv6HostIsBracketed()
    {
        var u = PostgresUri.Parse("postgres://smx@[2001:db8::5]/store");
        Assert.Equal(("2001:db8::5", 5432), (u.Host, u.Port));
        Assert.Equal("postgresql://smx@[2001:db8::5]:5432/store", u.ToString());
    }

    [Theory]
    [InlineData("postgresql://smx:secret@db/store")]
    [InlineData("postgresql://smx@db/store?password=secret")]
    public void APasswordIsRefusedWithoutEchoingIt(string text)
    {
        var ex = Assert.Throws<FormatException>(() => PostgresUri.Parse(text));
        Assert.Contains("password does not belong", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mysql://smx@db/store", "must start with postgresql://")]
    [InlineData("postgresql://db/store", "no user name")]
    [InlineData("postgresql://smx@db", "no database name")]
    [InlineData("postgresql://smx@db:99999/store", "port '99999'")]
    [InlineData("postgresql://smx@db/store?sslmode=maybe", "sslmode 'maybe'")]
    [InlineData("postgresql://smx@db/store?sslmod=require", "unknown parameter 'sslmod'")]
    [InlineData("postgresql://smx@/store", "no host")]
    public void AMalformedUriSaysWhatIsWrong(string text, string problem)
    {
        Assert.Contains(problem, Assert.Throws<FormatException>(() => PostgresUri.Parse(text)).Message, StringComparison.Ordinal);
    }
}
