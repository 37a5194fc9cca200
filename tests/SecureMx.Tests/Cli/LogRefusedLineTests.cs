using SecureMx.Cli;
using SecureMx.Store;

namespace SecureMx.Tests.Cli;

/// <summary>`securemx log --refused`'s lines: one per attempt, one per sending host; a sender's HELO cannot forge fields.</summary>
public sealed class LogRefusedLineTests
{
    private static readonly DateTimeOffset At = new(2030, 5, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void APlaintextAttemptSaysNoTlsAndUnknownReverseName()
    {
        var a = new RefusedAttempt(At, "node1", "192.0.2.1", "mx.sender.test", null, "a@sender.test", "alice@example.org", null, null, "550 5.7.1 x");
        Assert.Equal("2030-05-01T12:00:00.000Z client=192.0.2.1 rdns=unknown helo=mx.sender.test from=<a@sender.test> to=<alice@example.org> lacked=no-tls (550 5.7.1 x)",
            LogCommand.RefusedLine(a));
        Assert.Contains(" node=node1 client=", LogCommand.RefusedLine(a, withNode: true), StringComparison.Ordinal);
    }

    [Fact]
    public void AWeakAttemptNamesWhatItLackedAndWhatItHad()
    {
        var a = new RefusedAttempt(At, "", "192.0.2.1", null, "mx.sender.test", "", "alice@example.org", "TLSv1.1", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "550 5.7.1 x");
        Assert.Equal("2030-05-01T12:00:00.000Z client=192.0.2.1 rdns=mx.sender.test helo=- from=<> to=<alice@example.org> lacked=protocol TLSv1.1 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA (550 5.7.1 x)",
            LogCommand.RefusedLine(a));
    }

    [Fact]
    public void AHostileHeloCannotAddFieldsOrLines()
    {
        var a = new RefusedAttempt(At, "", "192.0.2.1", "x rdns=forged.test\r\nhost 1.2.3.4", null, "a@s.test", "alice@example.org", null, null, "550 5.7.1 x");
        var line = LogCommand.RefusedLine(a);
        Assert.Contains(" helo=x_rdns=forged.test__host_1.2.3.4 ", line, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', line);
        Assert.Equal("host 192.0.2.1 rdns=unknown helo=a_b attempts=3 last=2030-05-01T12:00:00.000Z",
            LogCommand.HostLine(new RefusedSendingHost("192.0.2.1", "a b", null, 3, At)));
    }
}
