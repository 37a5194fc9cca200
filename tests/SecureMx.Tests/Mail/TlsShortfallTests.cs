using SecureMx.Mail;

namespace SecureMx.Tests.Mail;

public sealed class TlsShortfallTests
{
    [Theory]
    [InlineData(null, null, TlsShortfall.NoTls)]
    [InlineData("TLSv1.1", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", TlsShortfall.Protocol)]
    [InlineData("TLSv1", "TLS_RSA_WITH_AES_128_CBC_SHA", TlsShortfall.Protocol)]
    [InlineData("TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", TlsShortfall.Cipher)]
    [InlineData("TLSv1.2", "TLS_RSA_WITH_AES_128_GCM_SHA256", TlsShortfall.Cipher)]
    [InlineData("TLSv1.2", null, TlsShortfall.Cipher)]
    public void WhatASessionLackedFollowsTheGrade(string? protocol, string? cipher, TlsShortfall expected)
    {
        Assert.Equal(expected, TlsShortfalls.Of(protocol, cipher));
    }

    [Theory]
    [InlineData("TLSv1.3", "TLS_AES_256_GCM_SHA384")]
    [InlineData("TLSv1.2", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")]
    public void StrictTlsLacksNothing(string protocol, string cipher)
    {
        Assert.Null(TlsShortfalls.Of(protocol, cipher));
    }

    [Fact]
    public void NamesAreTheWordsTheCliWrites()
    {
        Assert.Equal(["no-tls", "protocol", "cipher"], Enum.GetValues<TlsShortfall>().Select(s => s.Name()));
    }
}
