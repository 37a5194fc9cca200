using System.Globalization;
using System.Net;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Telemetry;

namespace SecureMx.Smtp;

/// <summary>
/// The server side of one SMTP connection (RFC 5321 §4): the command state machine with
/// PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531),
/// ENHANCEDSTATUSCODES (RFC 2034), DSN (RFC 3461), CHUNKING (RFC 3030), STARTTLS (RFC 3207),
/// REQUIRETLS after STARTTLS (RFC 8689) and,
/// on submission listeners, AUTH (RFC 4954; see SmtpSession.Auth.cs).
/// </summary>
public sealed partial class SmtpSession
{
    private readonly SmtpServerContext _ctx;
    // The limits as the session began: a reload swaps the section for later sessions only, so the
    // SIZE this session advertised is the one it enforces.
    private readonly LimitOptions _limits;
    private readonly ListenerSettings _listener;
    private readonly SmtpTransport _transport;
    private readonly IPEndPoint _remote;
    private readonly InboundSessionRecord _record;
    private readonly CancellationToken _stopping; // server shutdown: idle sessions end with 421
    private readonly CancellationToken _abort;    // hard stop: even transfers in progress end; only ever after _stopping
    private readonly ILogger _log;
    private const int MaxLoggedRecipients = 1000;

    // Lines refused for a bare CR or LF or a NUL (and messages for a bare CR or LF) before the session
    // is closed: a client that keeps doing it is broken or probing (Postfix's smtpd_forbid_bare_newline = reject).
    private const int MaxMalformedLinesPerSession = 3;

    private string? _helo;
    private bool _esmtp;
    private int _errors;
    private int _malformedLines;
    private string? _closeReason; // why DATA or BDAT ended the session, for the session log
    private bool _leaveWriterThread; // a message was just committed: see the command loop
    private Transaction? _tx;
    private string? _account; // the mailbox this client logged in as (submission only)
    private Task? _reverseNameLookup; // once per session, and only for a client refused for mandatory TLS

    /// <summary>The longest a refused client's reverse name is looked up for (alongside the session, never before a reply); then it is unknown.</summary>
    public static readonly TimeSpan ReverseNameTimeout = TimeSpan.FromSeconds(2);

    private sealed class Transaction(EnvelopeAddress sender, MailParameters parameters)
    {
        public EnvelopeAddress Sender { get; } = sender;
        public MailParameters Parameters { get; } = parameters;
        public List<EnvelopeRecipient> Recipients { get; } = new();
        public int RcptCommands { get; set; }
        public SpoolFile? Chunked { get; set; } // BDAT in progress
        public bool ChunkBareLineEnding { get; set; }
        public byte ChunkLastByte { get; set; }
        public HeaderSectionCapture? Headers { get; init; } // submission: the author is checked at the end
        public TransferDeadline? Transfer { get; set; } // BDAT: the time limits of the message, from its first chunk
    }

    /// <param name="stopping">Server shutdown: an idle session is told 421 and ends.</param>
    /// <param name="abort">The hard stop after the grace: cancelled only once <paramref name="stopping"/> is (the command waits link to that alone).</param>
    public SmtpSession(SmtpServerContext ctx, ListenerSettings listener, Stream network, IPEndPoint remote,
        CancellationToken stopping, CancellationToken abort)
    {
        _ctx = ctx;
        _limits = ctx.Limits;
        _listener = listener;
        _transport = new SmtpTransport(network, ctx.Time);
        _remote = remote;
        _stopping = stopping;
        _abort = abort;
        _log = ctx.Logger;
        _record = new InboundSessionRecord(MessageId.New(ctx.Time), ctx.Time.GetUtcNow(), listener.Name, ClientIp);
    }

    private string Hostname => _listener.Hostname ?? _ctx.Hostname;

    private string ClientIp => ClientAddress.Normalize(_remote.Address).ToString();

    public NegotiatedTls? Tls { get; private set; }

    /// <summary>Runs the session to its end. Never throws for anything the client does.</summary>
    public async Task RunAsync(SmtpReply? refuse = null)
    {
        try
        {
            // With implicit TLS every byte is inside TLS, a refusal as well (RFC 8314 §3.3).
            if (_listener.ImplicitTls && (await ExpectClientHelloAsync() ?? await HandshakeAsync()) is { } failed)
            {
                _record.EndReason = failed;
                return;
            }
            if (refuse is not null)
            {
                _transport.Write(refuse);
                await _transport.FlushAsync(_abort);
                _record.EndReason = "refused: " + refuse.Text;
                return;
            }
            _transport.Write(new SmtpReply(220, null, $"{Hostname} ESMTP SecureMx"));
            _record.EndReason = await CommandLoopAsync();
        }
        catch (OperationCanceledException)
        {
            _record.EndReason = "aborted at shutdown";
        }
        catch (Exception ex) when (ex is IOException or AuthenticationException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            _record.EndReason = "connection error: " + ex.Message;
            _log.LogDebug(ex, "session {Session} from {Ip}: connection error", _record.Id, ClientIp);
        }
        catch (Exception ex)
        {
            // A bug must cost one connection, never the process.
            _record.EndReason = "internal error";
            _log.LogError(ex, "session {Session} from {Ip}: unexpected error", _record.Id, ClientIp);
            try
            {
                _transport.Write(new SmtpReply(421, EnhancedStatus.LocalError, "Error: internal error, closing connection"));
                await _transport.FlushAsync(_abort);
            }
            catch (Exception)
            {
                // the connection is gone as well
            }
        }
        finally
        {
            // Nothing may skip closing the connection: a session that ends must never leave its socket open.
            try
            {
                if (_tx?.Chunked is { } open) await open.DisposeAsync();
            }
            catch (Exception ex)
            {
                _log.LogError(ex, "session {Session} from {Ip}: removing the unfinished BDAT file failed", _record.Id, ClientIp);
            }
            finally
            {
                try
                {
                    await _transport.DisposeAsync();
                }
                catch (Exception ex)
                {
                    // The socket is closed by then (SmtpTransport closes it last, whatever failed before); the
                    // session is recorded all the same.
                    _log.LogWarning(ex, "session {Session} from {Ip}: closing the connection failed", _record.Id, ClientIp);
                }
                _record.EndedAt = _ctx.Time.GetUtcNow();
                _record.Helo = _helo;
                _record.Account = _account;
                if (_reverseNameLookup is not null) await _reverseNameLookup; // bounded; never throws
                _ctx.SessionLog.Add(_record);
            }
        }
    }

    private TimeSpan CommandTimeout => TimeSpan.FromSeconds(_limits.CommandTimeoutSeconds);
    private TimeSpan DataTimeout => TimeSpan.FromSeconds(_limits.DataTimeoutSeconds);

    private async Task<string> CommandLoopAsync()
    {
        // One timeout for every command line of the session, re-armed per line (no source and timer per line). Linked to
        // _stopping alone, which is cancelled before any _abort: a second link is one more object per idle session.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping);
        while (true)
        {
            LineStatus status;
            SmtpCommand cmd;
            string line;
            timeout.CancelAfter(CommandTimeout);
            try
            {
                // Idle between commands in one small wait, not in the read chain (memory of many idle sessions).
                var input = _transport.WaitForInputAsync(timeout.Token);
                if (_leaveWriterThread)
                {
                    // The last commit may have resumed this session on the queue's writer thread, which every commit
                    // needs: a command the client pipelined behind the message runs on the thread pool instead.
                    _leaveWriterThread = false;
                    if (input.IsCompleted) await Task.Yield();
                }
                await input;
                (status, cmd, line) = await _transport.ReadCommandAsync(_limits.MaxCommandLineLength, timeout.Token);
            }
            catch (OperationCanceledException) when (!_abort.IsCancellationRequested)
            {
                var reply = _stopping.IsCancellationRequested ? SmtpReply.ShuttingDown : SmtpReply.IdleTimeout;
                await SendFinalAsync(reply);
                return _stopping.IsCancellationRequested ? "server shutdown" : "idle timeout";
            }
            // Disarmed while the command runs: a transfer longer than the command timeout must not cancel the next read.
            timeout.CancelAfter(Timeout.InfiniteTimeSpan);
            switch (status)
            {
                case LineStatus.Closed:
                    return "client closed connection";
                case LineStatus.TooLong:
                    if (!await ErrorAsync(SmtpReply.LineTooLong)) return "too many errors";
                    continue;
                case LineStatus.BareLineEnding or LineStatus.Nul:
                    if (await RefuseMalformedLineAsync(status, line) is { } malformedEnd) return malformedEnd;
                    continue;
                case LineStatus.BareLfUnterminated:
                    return await CloseForUnterminatedBareLfAsync(SmtpReply.BareLfUnterminated, "a command line");
                case LineStatus.InvalidUtf8:
                    if (IsBdatLine(line)) return await CloseAfterRefusedBdatLineAsync(new SmtpReply(500, EnhancedStatus.SyntaxError, "Error: command line is not valid UTF-8"), "BDAT command line is not valid UTF-8");
                    if (!await ErrorAsync(new SmtpReply(500, EnhancedStatus.SyntaxError, "Error: command line is not valid UTF-8"))) return "too many errors";
                    continue;
            }

            switch (cmd.Verb)
            {
                case SmtpVerb.Ehlo:
                case SmtpVerb.Helo:
                    if (!await HeloAsync(cmd)) return "too many errors";
                    break;
                case SmtpVerb.Mail:
                    if (!await MailAsync(cmd)) return "too many errors";
                    break;
                case SmtpVerb.Rcpt:
                    if (!await RcptAsync(cmd)) return "too many errors";
                    break;
                case SmtpVerb.Data:
                    if (!await DataAsync(cmd)) return _closeReason ?? "too many errors or client gone during DATA";
                    break;
                case SmtpVerb.Bdat:
                    if (!await BdatAsync(cmd)) return _closeReason ?? "too many errors or client gone during BDAT";
                    break;
                case SmtpVerb.Rset:
                    if (cmd.Argument.Length > 0) { if (!await ErrorAsync(SmtpReply.BadSyntax)) return "too many errors"; break; }
                    await ResetTransactionAsync();
                    _transport.Write(SmtpReply.Ok);
                    break;
                case SmtpVerb.Noop:
                    _transport.Write(SmtpReply.Ok);
                    break;
                case SmtpVerb.Quit:
                    await SendFinalAsync(SmtpReply.Bye);
                    return "quit";
                case SmtpVerb.Vrfy:
                    if (NeedsTls) { if (!await ErrorAsync(SmtpReply.MustStartTls)) return "too many errors"; break; }
                    // Never confirm or deny a mailbox: no address harvesting (RFC 5321 §3.5.3 allows 252).
                    _transport.Write(cmd.Argument.Length == 0 ? SmtpReply.BadSyntax : SmtpReply.VrfyCannot);
                    break;
                case SmtpVerb.Expn:
                    if (!await ErrorAsync(SmtpReply.ExpnDisabled)) return "too many errors";
                    break;
                case SmtpVerb.Help:
                    _transport.Write(SmtpReply.Help);
                    break;
                case SmtpVerb.StartTls:
                    var tlsOutcome = await StartTlsAsync(cmd);
                    if (tlsOutcome is not null) return tlsOutcome;
                    break;
                case SmtpVerb.Auth:
                    if (await AuthAsync(cmd) is { } authEnd) return authEnd;
                    break;
                case SmtpVerb.Forbidden:
                    // An HTTP client or proxy probe on the SMTP port: say nothing useful, hang up.
                    await SendFinalAsync(new SmtpReply(421, EnhancedStatus.SecurityTransient, "Error: this is an SMTP server, closing connection"));
                    return $"forbidden command {cmd.VerbText}";
                default:
                    if (!await ErrorAsync(SmtpReply.CommandUnrecognized)) return "too many errors";
                    break;
            }
        }
    }

    /// <summary>
    /// A command line with a bare CR or LF or a NUL, refused as a whole up to its real CRLF: 500 5.5.2 with
    /// what was wrong, counted; the end reason when the session must close (the limit, or a BDAT line:
    /// its chunk would follow, and its bytes must never be read as commands).
    /// </summary>
    private async Task<string?> RefuseMalformedLineAsync(LineStatus status, string line)
    {
        var (reply, what) = MalformedLineReply(status, line);
        Telemetry.SecureMxMetrics.SmtpMalformedLines.Add(1);
        if (IsBdatLine(line)) return await CloseAfterRefusedBdatLineAsync(reply, what + " in a BDAT command line");
        if (await CountMalformedLineAsync(reply, what + " in a command line") is { } end) return end;
        return await ErrorAsync(reply) ? null : "too many errors";
    }

    private static (SmtpReply Reply, string What) MalformedLineReply(LineStatus status, string line) =>
        status == LineStatus.Nul ? (SmtpReply.NulInCommand, "NUL character")
        : line.Contains('\n') || !line.Contains('\r') ? (SmtpReply.BareLfInCommand, "bare <LF>") // a line too long to keep had an LF
        : (SmtpReply.BareCrInCommand, "bare <CR>");

    /// <summary>Counts a malformed line; at the limit writes <paramref name="reply"/> and 421, and returns the end reason.</summary>
    private async Task<string?> CountMalformedLineAsync(SmtpReply reply, string what)
    {
        if (++_malformedLines < MaxMalformedLinesPerSession) return null;
        _errors++;
        _transport.Write(reply);
        await SendFinalAsync(SmtpReply.TooManyBareLineEndings);
        _log.LogWarning("session {Session} from {Ip}: {Count} lines with a bare <CR>, <LF> or NUL, the last: {What}; closing connection",
            _record.Id, ClientIp, _malformedLines, what);
        return "too many bare <CR>, <LF> or NUL characters (last: " + what + ")";
    }

    /// <summary>
    /// A bare LF and then nothing within <see cref="SmtpTransport.BareLfGrace"/>: the client ends its lines with
    /// LF alone. It hears why at once (not a timeout after minutes) and is let go: carrying on would let a client
    /// that controls its timing split "NOOP x&lt;LF&gt;&lt;pause&gt;MAIL FROM:…" into two commands.
    /// </summary>
    private async Task<string> CloseForUnterminatedBareLfAsync(SmtpReply reply, string where)
    {
        SecureMxMetrics.SmtpMalformedLines.Add(1);
        _errors++;
        _transport.Write(reply);
        await SendFinalAsync(SmtpReply.ClosingForBareLf);
        _log.LogInformation("session {Session} from {Ip}: bare <LF> and no <CR><LF> after it in {Where} (a client ending lines with LF alone); closing connection",
            _record.Id, ClientIp, where);
        return "bare <LF> without <CR><LF> in " + where;
    }

    private static bool IsBdatLine(string line) => line.StartsWith("BDAT", StringComparison.OrdinalIgnoreCase);

    private async Task<string> CloseAfterRefusedBdatLineAsync(SmtpReply reply, string what)
    {
        _transport.Write(reply);
        await SendFinalAsync(SmtpReply.ClosingAfterRefusedBdat);
        _log.LogInformation("session {Session} from {Ip}: {What}; closing connection", _record.Id, ClientIp, what);
        return what;
    }

    /// <summary>Sends an error reply and counts it; false when the error limit is reached (421 sent).</summary>
    /// <summary>Counts a refusal in <see cref="SecureMxMetrics.SmtpRefused"/> and passes its reply on.</summary>
    private SmtpReply Refused(SmtpReply reply, string reason)
    {
        SecureMxMetrics.SmtpRefused.Add(1, new("listener", _listener.Name), new("reason", reason));
        return reply;
    }

    private async Task<bool> ErrorAsync(SmtpReply reply)
    {
        _errors++;
        if (_errors >= _limits.MaxErrors)
        {
            _transport.Write(reply);
            await SendFinalAsync(SmtpReply.TooManyErrors);
            return false;
        }
        _transport.Write(reply);
        return true;
    }

    private async Task SendFinalAsync(SmtpReply reply)
    {
        _transport.Write(reply);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(_abort);
        cts.CancelAfter(TimeSpan.FromSeconds(10));
        try { await _transport.FlushAsync(cts.Token); } catch (Exception ex) when (ex is IOException or OperationCanceledException) { }
    }

    private bool TlsAvailable => _ctx.Certificate is not null && Tls is null;

    /// <summary>A listener that requires TLS, and the session has not started it yet.</summary>
    private bool NeedsTls => _listener.RequireTls && Tls is null;

    private async Task<bool> HeloAsync(SmtpCommand cmd)
    {
        var name = cmd.Argument.Trim();
        if (name.Length == 0 || name.Contains(' ') || name.Length > 255)
        {
            return await ErrorAsync(new SmtpReply(501, EnhancedStatus.InvalidArguments, $"Syntax: {cmd.Verb.ToString().ToUpperInvariant()} hostname"));
        }
        // A new EHLO/HELO is an implicit RSET (RFC 5321 §4.1.4).
        await ResetTransactionAsync();
        _helo = name;
        _esmtp = cmd.Verb == SmtpVerb.Ehlo;
        var greeting = $"{Hostname} Hello {name} [{ClientIp}]";
        if (!_esmtp)
        {
            _transport.Write(new SmtpReply(250, null, greeting));
            return true;
        }
        var lines = new List<string>
        {
            greeting,
            "PIPELINING",
            $"SIZE {_limits.MaxMessageSize}",
            "8BITMIME",
            "SMTPUTF8",
            "ENHANCEDSTATUSCODES",
            "DSN",
            "CHUNKING",
        };
        if (TlsAvailable) lines.Add("STARTTLS");
        // RFC 8689 §2: REQUIRETLS only inside TLS, on every listener (a plaintext session could not use it anyway).
        if (Tls is not null) lines.Add("REQUIRETLS");
        // Passwords only travel encrypted: AUTH is offered after TLS, on submission listeners only.
        if (_listener.Submission && Tls is not null) lines.Add("AUTH " + string.Join(' ', Mechanisms));
        _transport.Write(new SmtpReply(250, null, lines));
        return true;
    }

    private async Task<bool> MailAsync(SmtpCommand cmd)
    {
        if (_helo is null) return await ErrorAsync(SmtpReply.BadSequenceEhloFirst);
        if (_tx is not null) return await ErrorAsync(SmtpReply.BadSequenceNestedMail);
        if (NeedsTls) return await ErrorAsync(Refused(SmtpReply.MustStartTls, "tls_required"));
        if (_listener.Submission && _account is null) return await ErrorAsync(Refused(SmtpReply.AuthenticationRequired, "auth_required"));
        if (!TryStripPrefix(cmd.Argument, "FROM:", out var rest)) return await ErrorAsync(new SmtpReply(501, EnhancedStatus.InvalidArguments, "Syntax: MAIL FROM:<address>"));

        // Parameters first: SMTPUTF8 decides whether the address may contain UTF-8.
        var (pathText, paramText) = SplitPath(rest);
        if (!_esmtp && paramText.Length > 0) return await ErrorAsync(new SmtpReply(555, EnhancedStatus.InvalidArguments, "Error: MAIL parameters need EHLO"));
        var paramError = ParameterParser.ParseMail(paramText, _limits.MaxMessageSize, out var parameters);
        if (paramError is not null) return await ErrorAsync(paramError);
        // RFC 8689 §4.1: a message that demands TLS on every hop cannot have come over this one in plaintext.
        if (parameters.RequireTls && Tls is null) return await ErrorAsync(Refused(SmtpReply.RequireTlsWithoutTls, "tls_required"));
        var err = SmtpAddressParser.TryParsePath(pathText, allowNull: true, allowUtf8: parameters.SmtpUtf8, out var sender, out var trailing);
        if (err == SmtpAddressParser.Error.None && trailing.Length > 0) err = SmtpAddressParser.Error.Syntax;
        switch (err)
        {
            case SmtpAddressParser.Error.NonAscii:
                return await ErrorAsync(new SmtpReply(553, EnhancedStatus.NonAsciiAddress, "Error: non-ASCII sender address needs the SMTPUTF8 parameter"));
            case SmtpAddressParser.Error.TooLong:
                return await ErrorAsync(new SmtpReply(501, EnhancedStatus.BadSenderSyntax, "Error: sender address too long"));
            case SmtpAddressParser.Error.Syntax:
                return await ErrorAsync(new SmtpReply(501, EnhancedStatus.BadSenderSyntax, "Error: bad sender address syntax"));
        }
        SmtpReply? notOwned;
        try
        {
            notOwned = _account is null ? null : _ctx.Senders.CheckEnvelopeSender(_account, sender);
        }
        catch (Exception ex) when (StoreUnavailable.Is(ex))
        {
            _log.LogWarning("session {Session} from {Ip}: MAIL FROM <{Sender}> of {Account} not decided, the store cannot be read: {Error}", _record.Id, ClientIp, sender, _account, ex.Message);
            return await ErrorAsync(Refused(SmtpReply.AddressLookupFailed, "store_unavailable"));
        }
        if (notOwned is not null)
        {
            _log.LogWarning("session {Session} from {Ip}: {Account} tried to send as <{Sender}>", _record.Id, ClientIp, _account, sender);
            return await ErrorAsync(notOwned);
        }
        if (!_ctx.Spool.FreeSpace.Admits(parameters.Size))
        {
            // Before any byte of content: a spool below its free-space floor takes no new mail (Postfix's
            // queue_minfree; RFC 1870 §6.1 for a SIZE= the free space cannot hold). The guard logs the low disk.
            return RefuseForStorage(SmtpReply.InsufficientStorage);
        }
        _tx = new Transaction(sender, parameters) { Headers = _account is null ? null : new HeaderSectionCapture() };
        _transport.Write(SmtpReply.SenderOk);
        return true;
    }

    private async Task<bool> RcptAsync(SmtpCommand cmd)
    {
        if (NeedsTls) return await ErrorAsync(Refused(SmtpReply.MustStartTls, "tls_required"));
        if (_tx is null) return await ErrorAsync(SmtpReply.BadSequenceNeedMail);
        if (_tx.Chunked is not null) return await ErrorAsync(new SmtpReply(503, EnhancedStatus.InvalidCommand, "Error: RCPT not allowed during BDAT transfer"));
        if (!TryStripPrefix(cmd.Argument, "TO:", out var rest)) return await ErrorAsync(new SmtpReply(501, EnhancedStatus.InvalidArguments, "Syntax: RCPT TO:<address>"));
        var (pathText, paramText) = SplitPath(rest);
        if (!_esmtp && paramText.Length > 0) return await ErrorAsync(new SmtpReply(555, EnhancedStatus.InvalidArguments, "Error: RCPT parameters need EHLO"));
        var paramError = ParameterParser.ParseRcpt(paramText, out var parameters);
        if (paramError is not null) return await ErrorAsync(paramError);

        if (_tx.RcptCommands >= _limits.MaxRecipients)
        {
            // Temporary: the client sends the rest in another transaction (RFC 5321 §4.5.3.1.10).
            _transport.Write(SmtpReply.TooManyRecipients);
            return true;
        }

        // RFC 5321 §4.1.1.3: "RCPT TO:<Postmaster>" without a domain must be accepted.
        bool barePostmaster = string.Equals(pathText, "<postmaster>", StringComparison.OrdinalIgnoreCase);
        EnvelopeAddress rcpt = EnvelopeAddress.Null;
        if (!barePostmaster)
        {
            var err = SmtpAddressParser.TryParsePath(pathText, allowNull: false, allowUtf8: _tx.Parameters.SmtpUtf8, out rcpt, out var trailing);
            if (err == SmtpAddressParser.Error.None && trailing.Length > 0) err = SmtpAddressParser.Error.Syntax;
            var syntaxReply = err switch
            {
                SmtpAddressParser.Error.NonAscii => new SmtpReply(553, EnhancedStatus.NonAsciiAddress, "Error: non-ASCII recipient address needs the SMTPUTF8 parameter"),
                SmtpAddressParser.Error.TooLong => new SmtpReply(501, EnhancedStatus.BadDestinationSyntax, "Error: recipient address too long"),
                SmtpAddressParser.Error.Syntax => new SmtpReply(501, EnhancedStatus.BadDestinationSyntax, "Error: bad recipient address syntax"),
                _ => null,
            };
            if (syntaxReply is not null)
            {
                LogRecipient("(syntax)", syntaxReply);
                return await ErrorAsync(syntaxReply);
            }
        }

        // Logged-in clients may send anywhere; everybody else only to the domains hosted here.
        Policy.RcptDecision decision;
        try
        {
            decision = _ctx.Recipients.Evaluate(rcpt, barePostmaster, parameters, barePostmaster ? "postmaster" : rcpt.ToString(), mayRelay: _account is not null, tls: Tls,
                declaredSize: _tx.Parameters.Size);
        }
        catch (Exception ex) when (StoreUnavailable.Is(ex))
        {
            // Not decided is not refused: 451, and the client tries again (never a 5xx the store would not have given).
            _log.LogWarning("session {Session} from {Ip}: RCPT <{Rcpt}> not decided, the store cannot be read: {Error}", _record.Id, ClientIp, barePostmaster ? "postmaster" : rcpt, ex.Message);
            decision = new Policy.RcptDecision(SmtpReply.AddressLookupFailed, [], "store_unavailable");
        }
        LogRecipient(barePostmaster ? "(postmaster)" : rcpt.Domain, decision.Reply, barePostmaster ? "postmaster" : rcpt.ToString(), decision.Refusal);
        if (decision.Refusal == RefusedAttemptRepository.MandatoryTls && _ctx.ReverseDns is { } reverseDns) _reverseNameLookup ??= LookUpReverseNameAsync(reverseDns);
        if (!decision.Accepted) return await ErrorAsync(decision.Refusal is { } why ? Refused(decision.Reply, why) : decision.Reply);
        _tx.RcptCommands++;
        foreach (var r in decision.Recipients)
        {
            // The same final mailbox named twice (alias and address) is delivered once.
            if (!_tx.Recipients.Any(x => x.Address == r.Address)) _tx.Recipients.Add(r);
        }
        _transport.Write(decision.Reply);
        return true;
    }

    /// <summary>
    /// The refused-mail report names the sending host: its forward-confirmed reverse name, looked up only
    /// for a session refused under mandatory TLS (no cost for any other), once, alongside the session — the
    /// refusal is answered at once, a slow resolver delays no reply — bounded by <see cref="ReverseNameTimeout"/>;
    /// the session's record waits for it when the session ends. A timeout or a failure leaves it unknown.
    /// </summary>
    private async Task LookUpReverseNameAsync(Dns.IMailDnsResolver dns)
    {
        try
        {
            // WaitAsync bounds it even for a resolver that does not heed the token; any failure is "unknown", never the session's end.
            using var bound = new CancellationTokenSource(ReverseNameTimeout);
            _record.ReverseName = await dns.ResolveReverseNameAsync(_remote.Address, bound.Token).WaitAsync(ReverseNameTimeout, bound.Token);
        }
        catch (Exception ex)
        {
            _log.LogDebug("session {Session} from {Ip}: reverse name unknown: {Error}", _record.Id, ClientIp, ex.Message);
        }
    }

    private void LogRecipient(string domain, SmtpReply reply, string? recipient = null, string? refusal = null)
    {
        if (_record.Recipients.Count >= MaxLoggedRecipients) return; // a hostile session must not grow the log without bound
        var from = _tx?.Sender is { IsNull: false } s ? s.Domain : null;
        // The full addresses only where the refused-mail report needs them (a refusal under mandatory TLS, which
        // keeps nothing else of the mail); every other row keeps the domains, as it always did.
        var named = refusal == "mandatory_tls";
        var mailFrom = named && _tx?.Sender is { } sender ? (sender.IsNull ? "" : sender.ToString()) : null;
        _record.Recipients.Add(new InboundRecipientEvent(_ctx.Time.GetUtcNow(), from, domain, reply.IsPositive, reply.ToString(),
            mailFrom, named ? recipient : null, refusal));
    }

    private async Task<string?> StartTlsAsync(SmtpCommand cmd)
    {
        if (cmd.Argument.Length > 0) return await ErrorAsync(SmtpReply.BadSyntax) ? null : "too many errors";
        if (Tls is not null) return await ErrorAsync(SmtpReply.AlreadyTls) ? null : "too many errors";
        if (_ctx.Certificate is null) return await ErrorAsync(SmtpReply.NoTlsAvailable) ? null : "too many errors";
        if (_helo is null) return await ErrorAsync(SmtpReply.BadSequenceEhloFirst) ? null : "too many errors";
        if (_transport.HasBufferedInput())
        {
            // Plaintext pipelined after STARTTLS (CVE-2011-0411): it would be executed as if it came over TLS.
            await SendFinalAsync(new SmtpReply(554, EnhancedStatus.InvalidCommand, "Error: commands pipelined after STARTTLS, closing connection"));
            _log.LogWarning("session {Session} from {Ip}: STARTTLS command injection attempt", _record.Id, ClientIp);
            return "STARTTLS injection attempt";
        }
        _transport.Write(SmtpReply.ReadyForTls);
        if (await HandshakeAsync() is { } failed) return failed;
        // RFC 3207 §4.2: forget everything learned before TLS, including EHLO.
        await ResetTransactionAsync();
        _helo = null;
        _esmtp = false;
        return null;
    }

    /// <summary>
    /// On an implicit-TLS listener, the client must open with a TLS ClientHello. A plaintext client
    /// either says something else first or waits for a greeting that never comes in plaintext: both
    /// are let go after limits.tlsClientHelloTimeoutSeconds with a log line that says so, instead of
    /// a handshake that times out with "The operation was canceled". Returns the end reason, or null.
    /// </summary>
    private async Task<string?> ExpectClientHelloAsync()
    {
        var wait = TimeSpan.FromSeconds(_limits.TlsClientHelloTimeoutSeconds);
        var (kind, sample) = await _transport.PeekFirstBytesAsync(wait, _abort);
        string? reason = kind switch
        {
            FirstBytes.Plaintext => "client spoke plaintext on an implicit-TLS port",
            FirstBytes.Silent => $"no TLS ClientHello within {wait.TotalSeconds:0} s on an implicit-TLS port (a plaintext client waiting for a greeting?)",
            FirstBytes.Closed => "client closed connection before TLS",
            _ => null,
        };
        if (kind is FirstBytes.Plaintext or FirstBytes.Silent)
        {
            _log.LogInformation("session {Session} from {Ip}: {Reason}{Sample}; closing", _record.Id, ClientIp, reason,
                sample.Length == 0 ? "" : $" (first bytes \"{Printable(sample)}\")");
        }
        return reason;
    }

    /// <summary>Client bytes for a log line: printable ASCII kept, everything else as \xNN.</summary>
    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var sb = new System.Text.StringBuilder(bytes.Length);
        foreach (var b in bytes) sb.Append(b is >= 32 and < 127 and not (byte)'\\' ? (char)b : $"\\x{b:x2}");
        return sb.ToString();
    }

    /// <summary>The TLS handshake (after STARTTLS, or at connect on an implicit-TLS listener); the end reason when it fails.</summary>
    private async Task<string?> HandshakeAsync()
    {
        // Read once: a renewal may swap the pair, and this handshake keeps the one it started with.
        if (_ctx.Certificate is not { } certificate) return "no certificate for TLS";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_abort);
        timeout.CancelAfter(TimeSpan.FromSeconds(_limits.TlsHandshakeTimeoutSeconds));
        try
        {
            await _transport.StartTlsAsync(_listener.TlsProfile, certificate.Context, timeout.Token);
        }
        catch (OperationCanceledException) when (!_abort.IsCancellationRequested)
        {
            var why = $"TLS handshake timed out after {_limits.TlsHandshakeTimeoutSeconds} s";
            _log.LogInformation("session {Session} from {Ip}: {Reason}", _record.Id, ClientIp, why);
            return why;
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException && !_abort.IsCancellationRequested)
        {
            _log.LogInformation("session {Session} from {Ip}: TLS handshake failed: {Error}", _record.Id, ClientIp, ex.Message);
            return "TLS handshake failed: " + ex.Message;
        }
        Tls = NegotiatedTls.From(_transport.Tls!);
        _record.TlsProtocol = Tls.Protocol;
        _record.TlsCipher = Tls.CipherSuite;
        if (!Tls.IsStrict)
        {
            // Only the opportunistic MX profile can negotiate this (RFC 7435: better than plaintext); said, never hidden.
            SecureMxMetrics.InboundWeakTlsSessions.Add(1, new KeyValuePair<string, object?>("listener", _listener.Name), new KeyValuePair<string, object?>("protocol", Tls.Protocol));
            _log.LogInformation("session {Session} from {Ip}: weak TLS: {Protocol} {Cipher} (below TLS 1.2 with ECDHE and AEAD; better than plaintext)",
                _record.Id, ClientIp, Tls.Protocol, Tls.CipherSuite);
        }
        return null;
    }

    private async Task ResetTransactionAsync()
    {
        if (_tx?.Chunked is { } open) await open.DisposeAsync();
        _tx = null;
    }

    private static bool TryStripPrefix(string arg, string prefix, out string rest)
    {
        rest = "";
        if (!arg.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) return false;
        // Tolerate "MAIL FROM: <a@b>" (a space after the colon), as every MTA does.
        rest = arg.Substring(prefix.Length).TrimStart(' ');
        return rest.Length > 0;
    }

    /// <summary>Splits "&lt;path&gt; params" at the end of the path (a '&gt;' inside a quoted local part does not count).</summary>
    private static (string Path, string Params) SplitPath(string rest)
    {
        if (!rest.StartsWith('<'))
        {
            int sp = rest.IndexOf(' ');
            return sp < 0 ? (rest, "") : (rest.Substring(0, sp), rest.Substring(sp + 1).Trim());
        }
        int close = SmtpAddressParser.FindClosingBracket(rest);
        if (close < 0) return (rest, "");
        var after = rest.Substring(close + 1);
        if (after.Length > 0 && after[0] != ' ') return (rest, ""); // junk glued to the path: a syntax error later
        return (rest.Substring(0, close + 1), after.Trim());
    }
}
