using System.Text;
using SecureMx.Mail;

namespace SecureMx.Tests.TestSupport;

/// <summary>
/// Runs a <see cref="SmtpDialogue"/> against a fresh <see cref="SmtpTestServer"/> over a real socket.
/// Any step that goes otherwise (a wrong reply, a reply that never comes, a closed connection, a
/// failed handshake) fails the test with the file's line and the whole transcript so far.
/// </summary>
public sealed class SmtpDialogueRunner
{
    private readonly SmtpDialogue _dialogue;
    private readonly SmtpTestServer _server;
    private readonly StringBuilder _transcript = new();
    private RawSmtpClient? _client;
    private TestReply? _last;

    private SmtpDialogueRunner(SmtpDialogue dialogue, SmtpTestServer server)
    {
        _dialogue = dialogue;
        _server = server;
    }

    public static async Task RunAsync(SmtpDialogue dialogue)
    {
        var settings = dialogue.Settings;
        await using var server = await SmtpTestServer.StartAsync(settings.Configure, withTls: settings.WithCertificate, listener: settings.Listener);
        foreach (var domain in settings.MandatoryInboundTls) server.Store.Policies.SetInboundTls(domain, InboundTlsSetting.Mandatory, "test");
        var runner = new SmtpDialogueRunner(dialogue, server);
        try
        {
            await runner.RunStepsAsync();
        }
        finally
        {
            if (runner._client is not null) await runner._client.DisposeAsync();
        }
    }

    private async Task RunStepsAsync()
    {
        await ConnectAsync();
        foreach (var step in _dialogue.Steps)
        {
            try
            {
                await RunAsync(step);
            }
            catch (Exception e) when (e is not SmtpDialogueException)
            {
                throw Failure(step, e.Message, e);
            }
        }
        // A reply the file does not read is an unexpected reply too (as far as it has arrived).
        if (_client!.HasBufferedData)
        {
            var extra = await _client.ReadReplyAsync();
            throw Failure(_dialogue.Steps[^1], $"the server sent more than the dialogue reads: {extra}");
        }
    }

    private async Task ConnectAsync()
    {
        if (_client is not null) await _client.DisposeAsync();
        _last = null;
        _client = await RawSmtpClient.ConnectAsync(_server.Endpoint);
        _transcript.AppendLine("   -- connected");
    }

    private async Task RunAsync(SmtpDialogueStep step)
    {
        var client = _client!;
        switch (step)
        {
            case SendStep send:
                _transcript.AppendLine("   " + send.Text);
                await client.SendAsync(send.Bytes);
                break;
            case TlsStep:
                _transcript.AppendLine("   -- TLS handshake");
                await client.UpgradeToTlsAsync();
                break;
            case PauseStep pause:
                await Task.Delay(pause.Duration, TestContext.Current.CancellationToken);
                break;
            case ConnectStep:
                await ConnectAsync();
                break;
            case ClosedStep:
                var unexpected = await ReadAsync();
                if (unexpected is not null) throw Failure(step, $"expected the connection to be closed, got {unexpected}");
                break;
            case ReplyStep expected:
                var reply = await ReadAsync() ?? throw Failure(step, "expected a reply, but the connection was closed");
                _last = reply;
                var firstLine = $"{reply.Code}{(reply.Lines[0].Length > 0 ? " " : "")}{reply.Lines[0]}";
                bool ok = reply.Code == expected.Code
                    && (expected.Enhanced is null || reply.Enhanced == expected.Enhanced)
                    && (expected.FirstLine is null || (expected.Exact ? firstLine == expected.FirstLine : firstLine.StartsWith(expected.FirstLine, StringComparison.Ordinal)));
                if (!ok) throw Failure(step, $"expected {Describe(expected)}, got {reply}");
                break;
            case ReplyCheckStep check:
                Check(check, _last ?? throw Failure(step, "no reply has been read on this connection"));
                break;
            default:
                throw new InvalidOperationException($"unknown step {step}");
        }
    }

    /// <summary>Reads the next reply into the transcript; null when the server closed the connection.</summary>
    private async Task<TestReply?> ReadAsync()
    {
        var reply = await _client!.ReadReplyAsync();
        if (reply is null)
        {
            _transcript.AppendLine("   -- closed by the server");
            return null;
        }
        for (int i = 0; i < reply.Lines.Count; i++)
        {
            _transcript.Append("   S: ").Append(reply.Code).Append(i < reply.Lines.Count - 1 ? '-' : ' ').AppendLine(reply.Lines[i]);
        }
        return reply;
    }

    private void Check(ReplyCheckStep check, TestReply reply)
    {
        bool prefix = check.Value.EndsWith('*');
        var wanted = prefix ? check.Value[..^1] : check.Value;
        bool Matches(string line) => prefix ? line.StartsWith(wanted, StringComparison.Ordinal) : line == wanted;
        var (ok, what) = check.Kind switch
        {
            '+' => (reply.Lines.Any(Matches), $"a line {(prefix ? "starting with" : "equal to")} '{wanted}'"),
            '-' => (!reply.Lines.Any(Matches), $"no line {(prefix ? "starting with" : "equal to")} '{wanted}'"),
            '~' => (reply.Text.Contains(check.Value, StringComparison.Ordinal), $"the text '{check.Value}'"),
            _ => (reply.Lines.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) == check.Value, $"{check.Value} line(s)"),
        };
        if (!ok) throw Failure(check, $"expected the last reply to have {what}, but it is {reply}");
    }

    private static string Describe(ReplyStep step) => step.FirstLine is null
        ? $"{step.Code}{(step.Enhanced is null ? "" : " " + step.Enhanced)}"
        : $"a reply whose first line {(step.Exact ? "is" : "starts with")} '{step.FirstLine}'";

    private SmtpDialogueException Failure(SmtpDialogueStep step, string what, Exception? inner = null) =>
        new($"{_dialogue.Name}{SmtpDialogue.Extension}:{step.Line}: {step.Text}\n{what}\ntranscript so far:\n{_transcript}", inner);
}
