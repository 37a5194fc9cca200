using SecureMx.Config;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Config;

/// <summary>node.name: empty (the host name) or letters, digits, '.', '-', '_', 1–63 characters; anything else refused naming the key.</summary>
public sealed class NodeNameValidationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public NodeNameValidationTests()
    {
        Directory.CreateDirectory(_dir.Combine("tls"));
        File.WriteAllText(_dir.Combine("tls", "cert.pem"), "");
        File.WriteAllText(_dir.Combine("tls", "key.pem"), "");
    }

    public void Dispose() => _dir.Dispose();

    private void Validate(string name) =>
        ConfigLoader.Validate(new SecureMxOptions { Hostname = "mx.example.test", Node = { Name = name } }, _dir.Path);

    [Theory]
    [InlineData("")]
    [InlineData("mx1")]
    [InlineData("mx-2.fra_1")]
    [InlineData("A23456789012345678901234567890123456789012345678901234567890123")]
    public void GoodNamesAreAccepted(string name) => Validate(name);

    [Theory]
    [InlineData("mx 1")]
    [InlineData("mx(1)")]
    [InlineData("mx\\1")]
    [InlineData("mx1;")]
    [InlineData("mxé")]
    [InlineData("A234567890123456789012345678901234567890123456789012345678901234")]
    public void OtherNamesAreRefusedNamingTheKey(string name)
    {
        var ex = Assert.Throws<ConfigException>(() => Validate(name));
        Assert.Contains("node.name", ex.Message);
    }

    [Fact]
    public void TheNodeIsNamedInReceivedOnlyWithASharedStoreOrAnExplicitName()
    {
        Assert.Null(ReceivedNodeName.For(new SecureMxOptions()));
        Assert.Equal("mx1", ReceivedNodeName.For(new SecureMxOptions { Node = { Name = "mx1" } }));
        Assert.Equal(System.Net.Dns.GetHostName(),
            ReceivedNodeName.For(new SecureMxOptions { Store = { ConnectionString = "postgresql://securemx@db.example.test:5432/securemx" } }));
    }
}
