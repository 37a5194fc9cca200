namespace SecureMx.Tests.TestSupport;

/// <summary>The dialogue runner fails loudly: the file's line, what came instead, and the whole transcript so far.</summary>
public sealed class SmtpDialogueRunnerTests
{
    private static Task RunAsync(string text) => SmtpDialogueRunner.RunAsync(SmtpDialogue.Parse(text, "probe"));

    private static async Task<string> FailureOfAsync(string text) => (await Assert.ThrowsAsync<SmtpDialogueException>(() => RunAsync(text))).Message;

    [Fact]
    public async Task ADialogueThatGoesAsWrittenPasses()
    {
        await RunAsync("""
            S= 220 mx.test ESMTP SecureMx
            C: EHLO client.test
            S^ 250 mx.test Hello
            S+ PIPELINING
            S- AUTH*
            C: QUIT
            S: 221 2.0.0
            S: closed
            """);
    }

    [Fact]
    public async Task AnUnexpectedReplyFailsWithTheTranscriptSoFar()
    {
        var message = await FailureOfAsync("""
            S: 220
            C: EHLO client.test
            S: 250
            C: MAIL FROM:<a@remote.example>
            S: 250 2.1.0
            C: RCPT TO:<nobody@example.org>
            S: 250 2.1.5
            C: QUIT
            S: 221
            """);
        Assert.StartsWith("probe.dialogue:7: S: 250 2.1.5\nexpected 250 2.1.5, got 550 ", message, StringComparison.Ordinal);
        var transcript = message[message.IndexOf("transcript so far:", StringComparison.Ordinal)..];
        Assert.Contains("S: 220 mx.test ESMTP SecureMx", transcript);
        Assert.Contains("C: EHLO client.test", transcript);
        Assert.Contains("S: 250-mx.test Hello client.test [127.0.0.1]", transcript);
        Assert.Contains("S: 250 2.1.0 ", transcript);
        Assert.Contains("C: RCPT TO:<nobody@example.org>", transcript);
        Assert.Contains("S: 550 5.1.1 ", transcript);
        Assert.DoesNotContain("QUIT", transcript);
    }

    [Fact]
    public async Task AWrongEnhancedCodeOrFirstLineFails()
    {
        Assert.Contains("expected 220 2.0.0, got 220 mx.test ESMTP SecureMx", await FailureOfAsync("S: 220 2.0.0\n"));
        Assert.Contains("expected a reply whose first line is '220 mx.test ESMTP'", await FailureOfAsync("S= 220 mx.test ESMTP\n"));
        Assert.Contains("expected a reply whose first line starts with '220 other.test'", await FailureOfAsync("S^ 220 other.test\n"));
    }

    [Fact]
    public async Task AFailedCheckOfTheLastReplyFails()
    {
        const string ehlo = "S: 220\nC: EHLO client.test\nS: 250\n";
        Assert.Contains("to have a line equal to 'BINARYMIME'", await FailureOfAsync(ehlo + "S+ BINARYMIME\n"));
        Assert.Contains("to have no line starting with 'PIPE'", await FailureOfAsync(ehlo + "S- PIPE*\n"));
        Assert.Contains("to have the text 'Goodbye'", await FailureOfAsync(ehlo + "S~ Goodbye\n"));
        Assert.Contains("to have 1 line(s)", await FailureOfAsync(ehlo + "S# 1\n"));
    }

    [Fact]
    public async Task AReplyWhereTheConnectionShouldCloseFails()
    {
        var message = await FailureOfAsync("S: 220\nC: NOOP\nS: closed\n");
        Assert.StartsWith("probe.dialogue:3: S: closed\nexpected the connection to be closed, got 250 ", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AClosedConnectionWhereAReplyShouldComeFails()
    {
        var message = await FailureOfAsync("S: 220\nC: QUIT\nS: 221\nS: 250\n");
        Assert.StartsWith("probe.dialogue:4: S: 250\nexpected a reply, but the connection was closed", message, StringComparison.Ordinal);
        Assert.Contains("-- closed by the server", message);
    }

    [Fact]
    public async Task AReplyTheFileDoesNotReadFails()
    {
        // two replies arrive together; the file reads one
        var message = await FailureOfAsync("S: 220\nC> NOOP\\r\\nNOOP\\r\\n\nS: 250\nC! pause 200ms\n");
        Assert.Contains("the server sent more than the dialogue reads: 250 ", message);
    }

    [Fact]
    public async Task AFailedHandshakeFailsTheDialogueWithItsTranscript()
    {
        // no STARTTLS before the handshake: the server reads the ClientHello as a command line
        var message = await FailureOfAsync("S: 220\nC! tls\nS: 250\n");
        Assert.StartsWith("probe.dialogue:2: C! tls\n", message, StringComparison.Ordinal);
        Assert.Contains("-- TLS handshake", message);
    }
}
