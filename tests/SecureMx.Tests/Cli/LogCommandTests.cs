using SecureMx.Cli;
using SecureMx.Store;

namespace SecureMx.Tests.Cli;

/// <summary>`securemx log`'s line for one delivery log row.</summary>
public sealed class LogCommandTests
{
    private static readonly DateTimeOffset At = new(2030, 5, 1, 12, 0, 0, TimeSpan.Zero);

    private static DeliveryLogEntry Local(string verification) =>
        new(At, "0123456789ABCDEF", "bob@elsewhere.test", null, "alice@example.test", "local", null, "delivered", 250, "2.0.0", "delivered to maildir", null, null, verification);

    [Theory]
    [InlineData("local")]
    [InlineData("none")] // written before verification "local": the host "local" without an address still says so
    public void AMaildirDeliverySaysTlsLocalNotNone(string verification)
    {
        Assert.Equal("2030-05-01T12:00:00.000Z 0123456789ABCDEF from=<bob@elsewhere.test> to=<alice@example.test> relay=local delivered tls=local (250 2.0.0 delivered to maildir)",
            LogCommand.Line(Local(verification)));
    }

    [Fact]
    public void APlaintextRemoteDeliverySaysTlsNone()
    {
        var e = new DeliveryLogEntry(At, "0123456789ABCDEF", "alice@example.test", "alice@example.test", "bob@plain.test", "mx.plain.test", "192.0.2.24",
            "delivered", 250, "2.0.0", "2.0.0 Ok", null, null, "none");

        Assert.Equal("2030-05-01T12:00:00.000Z 0123456789ABCDEF from=<alice@example.test> account=alice@example.test to=<bob@plain.test> relay=mx.plain.test[192.0.2.24] delivered tls=none (250 2.0.0 Ok)",
            LogCommand.Line(e));
    }

    [Fact]
    public void ATlsDeliveryNamesItsVerificationProtocolAndCipher()
    {
        var e = new DeliveryLogEntry(At, "0123456789ABCDEF", "alice@example.test", null, "bob@dane.test", "mx.dane.test", "192.0.2.20",
            "delivered", 250, "2.0.0", "2.0.0 Ok", "TLSv1.3", "TLS_AES_256_GCM_SHA384", "dane");

        Assert.Contains(" delivered tls=dane TLSv1.3 TLS_AES_256_GCM_SHA384 (250 2.0.0 Ok)", LogCommand.Line(e), StringComparison.Ordinal);
    }

    [Fact]
    public void ADeliveryUnderMtaStsSaysMtaStsAndAWouldBeFailureFollowsTheTls()
    {
        var e = new DeliveryLogEntry(At, "0123456789ABCDEF", "alice@example.test", null, "bob@sts.test", "mx.sts.test", "192.0.2.21",
            "delivered", 250, "2.0.0", "2.0.0 Ok", "TLSv1.3", "TLS_AES_256_GCM_SHA384", "mta-sts");
        Assert.Contains(" delivered tls=mta-sts TLSv1.3 TLS_AES_256_GCM_SHA384 (250 2.0.0 Ok)", LogCommand.Line(e), StringComparison.Ordinal);

        var testing = e with { TlsVerification = "encrypted" };
        testing = testing with { MtaStsFailure = "certificate-not-trusted: certificate of mx.sts.test[192.0.2.21] not valid" };
        Assert.Contains(" delivered tls=encrypted TLSv1.3 TLS_AES_256_GCM_SHA384 mta-sts-failure: certificate-not-trusted: certificate of mx.sts.test[192.0.2.21] not valid (250 2.0.0 Ok)",
            LogCommand.Line(testing), StringComparison.Ordinal);
    }

    [Fact]
    public void APlaintextDeliveryAfterAFailedStartTlsSaysWhyNotJustTlsNone()
    {
        var e = new DeliveryLogEntry(At, "0123456789ABCDEF", "alice@example.test", null, "bob@broken.test", "mx.broken.test", "192.0.2.26",
            "delivered", 250, "2.0.0", "2.0.0 Ok", null, null, "none", "handshake failed: unsupported protocol");

        Assert.Contains(" delivered tls=none starttls-failed: handshake failed: unsupported protocol (250 2.0.0 Ok)", LogCommand.Line(e), StringComparison.Ordinal);
    }

    [Fact]
    public void TlsBelowTheStrictProfileIsMarkedWeak()
    {
        var e = new DeliveryLogEntry(At, "0123456789ABCDEF", "alice@example.test", null, "bob@old.test", "mx.old.test", "192.0.2.27",
            "delivered", 250, "2.0.0", "2.0.0 Ok", "TLSv1", "TLS_RSA_WITH_AES_128_CBC_SHA", "encrypted");

        Assert.Contains(" delivered tls=encrypted TLSv1 TLS_RSA_WITH_AES_128_CBC_SHA weak (250 2.0.0 Ok)", LogCommand.Line(e), StringComparison.Ordinal);
    }

    [Fact]
    public void TheNodeIsNamedOnlyOnASharedStore()
    {
        var e = Local("local") with { Node = "mx2" };
        Assert.DoesNotContain("node=", LogCommand.Line(e), StringComparison.Ordinal); // a single box's lines stay as scripts know them
        Assert.StartsWith("2030-05-01T12:00:00.000Z 0123456789ABCDEF node=mx2 from=<bob@elsewhere.test>", LogCommand.Line(e, withNode: true), StringComparison.Ordinal);
    }
}
