using System.Globalization;
using Microsoft.Extensions.Logging;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Telemetry;

namespace SecureMx.Smtp;

/// <summary>
/// The message content of a transaction: DATA (RFC 5321 §4.1.1.4) and BDAT (RFC 3030), streamed into
/// the spool and handed to <see cref="MessageAcceptor"/>; 250 only after the commit. When storage
/// fails the content is still read to its end, so that the client hears 451 4.3.0 (452 4.3.1 on a full
/// disk) and the session can go on.
/// </summary>
public sealed partial class SmtpSession
{
    private async Task<bool> DataAsync(SmtpCommand cmd)
    {
        if (NeedsTls) return await ErrorAsync(SmtpReply.MustStartTls);
        if (_helo is null) return await ErrorAsync(SmtpReply.BadSequenceEhloFirst);
        if (cmd.Argument.Length > 0) return await ErrorAsync(SmtpReply.BadSyntax);
        if (_tx is null) return await ErrorAsync(SmtpReply.BadSequenceNeedMail);
        if (_tx.Chunked is not null) return await ErrorAsync(new SmtpReply(503, EnhancedStatus.InvalidCommand, "Error: DATA not allowed after BDAT"));
        if (_tx.Recipients.Count == 0)
        {
            // Pipelined DATA after refused RCPTs (RFC 2920 §3.1): no 354, no content expected.
            return await ErrorAsync(SmtpReply.NoValidRecipients);
        }
        var file = _ctx.Acceptor.Open(_limits.MaxMessageSize);
        await using (file)
        {
            // No file to write into: refuse before 354, so that the client does not send the content for nothing.
            if (await _ctx.Acceptor.DiscardIfFailedAsync(file) is { } failed) return RefuseForStorage(StorageReply(failed));
            _transport.Write(SmtpReply.StartData);
            var decoder = new DataDecoder();
            var transfer = NewTransfer();
            // A slow but steady transfer is fine; a stall of DataTimeout, or a transfer past its limits, ends it.
            var headers = _tx.Headers;
            Action<ReadOnlySpan<byte>> sink = headers is null ? file.Write : data => { headers.Append(data); file.Write(data); };
            if (!await ReadContentAsync(timeout => _transport.ReadDataAsync(decoder, sink, timeout, DataTimeout, transfer), transfer)) return false;
            if (decoder.SawBareCrOrLf)
            {
                await ResetTransactionAsync();
                return await RefuseBareLineEndingsInContentAsync();
            }
            return await FinishMessageAsync(file);
        }
    }

    private TransferDeadline NewTransfer() => new(_ctx.Time, _limits.MaxTransferSeconds, _limits.MinTransferBytesPerSecond);

    /// <summary>
    /// Runs a content read. Its timeout, on the session's clock and re-armed before every read, fires when
    /// no bytes arrive for DataTimeout or when the transfer reaches its deadline; either ends the session
    /// with 421 4.4.2 (in the middle of the content there is no other way back to the command phase).
    /// </summary>
    private async Task<bool> ReadContentAsync(Func<CancellationTokenSource, ValueTask<bool>> read, TransferDeadline transfer)
    {
        using var timeout = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _ctx.Time);
        using var hardStop = _abort.UnsafeRegister(static cts => ((CancellationTokenSource)cts!).Cancel(), timeout);
        try
        {
            return await read(timeout);
        }
        catch (OperationCanceledException) when (!_abort.IsCancellationRequested)
        {
            if (transfer.Exceeded() is { } why)
            {
                await CutTransferAsync(why);
                return false;
            }
            _closeReason = $"no bytes for {_limits.DataTimeoutSeconds} s during a message transfer";
            await SendFinalAsync(SmtpReply.IdleTimeout);
            return false;
        }
    }

    /// <summary>A transfer over limits.maxTransferSeconds or under limits.minTransferBytesPerSecond: 421 4.4.2, the connection closed.</summary>
    private async Task CutTransferAsync(string why)
    {
        _closeReason = why;
        _log.LogWarning("session {Session} from {Ip}: {Reason}; closing connection", _record.Id, ClientIp, why);
        Telemetry.SecureMxMetrics.SmtpTransfersCut.Add(1);
        await SendFinalAsync(new SmtpReply(421, EnhancedStatus.BadConnection, $"Error: {why}, closing connection"));
    }

    /// <summary>A message with a bare CR or LF (SMTP smuggling, CVE-2023-51764): refused, and counted with the malformed command lines.</summary>
    private async Task<bool> RefuseBareLineEndingsInContentAsync()
    {
        if (await CountMalformedLineAsync(SmtpReply.BareCrLfInData, "bare <CR> or <LF> in message content") is { } end)
        {
            _closeReason = end;
            return false;
        }
        return await ErrorAsync(SmtpReply.BareCrLfInData);
    }

    private async Task<bool> BdatAsync(SmtpCommand cmd)
    {
        // BDAT <size> [LAST] (RFC 3030 §2). The chunk is always read, even when it will be refused.
        var parts = cmd.Argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is < 1 or > 2 || parts[0].Length > 18 || !parts[0].All(char.IsAsciiDigit) ||
            (parts.Length == 2 && !parts[1].Equals("LAST", StringComparison.OrdinalIgnoreCase)))
        {
            // Without a valid size we cannot know where the chunk ends: the session cannot continue.
            await SendFinalAsync(new SmtpReply(501, EnhancedStatus.InvalidArguments, "Syntax: BDAT size [LAST]; closing connection"));
            return false;
        }
        long size = long.Parse(parts[0], CultureInfo.InvariantCulture);
        bool last = parts.Length == 2;

        SmtpReply? refusal = null;
        if (NeedsTls) refusal = SmtpReply.MustStartTls;
        else if (_helo is null) refusal = SmtpReply.BadSequenceEhloFirst;
        else if (_tx is null) refusal = SmtpReply.BadSequenceNeedMail;
        else if (_tx.Recipients.Count == 0) refusal = SmtpReply.NoValidRecipients;

        if (refusal is not null)
        {
            var discard = NewTransfer();
            if (!await ReadContentAsync(timeout => _transport.ReadChunkAsync(size, static _ => { }, timeout, DataTimeout, discard), discard)) return false;
            return await ErrorAsync(refusal);
        }
        var tx = _tx!;
        // A file that cannot be created only counts what it is given: the failure is answered after the chunk.
        var file = tx.Chunked ??= _ctx.Acceptor.Open(_limits.MaxMessageSize);
        // One message, one time limit: from its first chunk to LAST, the time between chunks included.
        var transfer = tx.Transfer ??= NewTransfer();
        if (!await ReadContentAsync(timeout => _transport.ReadChunkAsync(size, data => CheckChunk(tx, file, data), timeout, DataTimeout, transfer), transfer)) return false;
        if (!last && transfer.Exceeded() is { } why)
        {
            // Whole chunks that arrive at once never wait for bytes: the message as a whole is judged here.
            await CutTransferAsync(why);
            return false;
        }
        // Past the size limit nothing is written any more: such a message ends in 552 at LAST, whatever the disk did.
        if (!file.TooBig && await _ctx.Acceptor.DiscardIfFailedAsync(file) is { } failed)
        {
            // The transaction has failed (RFC 3030 §2: the client sends no more chunks of it); chunks
            // already pipelined behind this one are read and refused, never stored as a truncated message.
            await ResetTransactionAsync();
            return RefuseForStorage(StorageReply(failed));
        }
        if (!last)
        {
            _transport.Write(new SmtpReply(250, EnhancedStatus.Ok, $"{size} octets received"));
            return true;
        }
        if (tx.ChunkLastByte == (byte)'\r') tx.ChunkBareLineEnding = true; // a CR at the very end is bare
        tx.Chunked = null;
        await using (file)
        {
            if (tx.ChunkBareLineEnding)
            {
                await ResetTransactionAsync();
                return await RefuseBareLineEndingsInContentAsync();
            }
            return await FinishMessageAsync(file);
        }
    }

    /// <summary>Writes a BDAT chunk and applies the same bare CR/LF rule as DATA, across chunk boundaries.</summary>
    private static void CheckChunk(Transaction tx, SpoolFile file, ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return;
        byte prev = tx.ChunkLastByte;
        for (int i = data.IndexOfAny((byte)'\r', (byte)'\n'); i >= 0;)
        {
            byte before = i == 0 ? prev : data[i - 1];
            if (data[i] == (byte)'\n' && before != (byte)'\r') tx.ChunkBareLineEnding = true;
            if (data[i] == (byte)'\r' && i + 1 < data.Length && data[i + 1] != (byte)'\n') tx.ChunkBareLineEnding = true;
            if (before == (byte)'\r' && data[i] != (byte)'\n' && i == 0) tx.ChunkBareLineEnding = true;
            int next = data.Slice(i + 1).IndexOfAny((byte)'\r', (byte)'\n');
            i = next < 0 ? -1 : i + 1 + next;
        }
        if (prev == (byte)'\r' && data[0] != (byte)'\n') tx.ChunkBareLineEnding = true;
        tx.ChunkLastByte = data[^1];
        tx.Headers?.Append(data);
        file.Write(data);
    }

    /// <summary>The author check of a submission, then the spool's size check, fsync and group commit, then — and only then — 250.</summary>
    private async Task<bool> FinishMessageAsync(SpoolFile file)
    {
        var tx = _tx!;
        if (!file.TooBig && _account is not null && tx.Headers is { } headers)
        {
            var (section, complete) = headers.Result();
            SmtpReply? refused;
            try
            {
                refused = _ctx.Senders.CheckAuthors(_account, Policy.AuthorAddresses.Parse(section, complete));
            }
            catch (Exception ex) when (Store.StoreUnavailable.Is(ex))
            {
                _log.LogWarning("session {Session} from {Ip}: message of {Account} not taken, its authors cannot be checked, the store cannot be read: {Error}", _record.Id, ClientIp, _account, ex.Message);
                await ResetTransactionAsync();
                return await ErrorAsync(Refused(SmtpReply.AddressLookupFailed, "store_unavailable"));
            }
            if (refused is not null)
            {
                _log.LogWarning("session {Session} from {Ip}: message of {Account} refused: {Reply}", _record.Id, ClientIp, _account, refused.Text);
                await ResetTransactionAsync();
                return await ErrorAsync(refused);
            }
        }
        var parameters = tx.Parameters;
        var signatures = "-";
        // Only mail of a logged-in account is signed, never mail that arrives on the MX (no account there).
        if (_account is not null && _ctx.Signer is { } signer && !file.TooBig)
        {
            Dkim.SignedMessage? signed;
            try
            {
                signed = await signer.SignAsync(_ctx.Acceptor, file, parameters, _abort);
            }
            catch (Dkim.DkimSigningException ex)
            {
                _log.LogError("session {Session} from {Ip}: message of {Account} not taken, it cannot be DKIM-signed: {Error}", _record.Id, ClientIp, _account, ex.Message);
                _tx = null;
                // Not counted toward limits.maxErrors: the client did nothing wrong.
                _transport.Write(Refused(SmtpReply.SigningFailed, "dkim_signing"));
                return true;
            }
            if (signed is not null)
            {
                await file.DisposeAsync(); // the unsigned copy; the signed one is what is queued
                file = signed.File;
                parameters = signed.Parameters;
                signatures = string.Join(", ", signed.Signatures);
            }
        }
        var auth = !_listener.Submission && _account is null && !file.TooBig && _ctx.MailAuthentication is { } authenticator
            ? await AuthenticateAsync(authenticator, file, tx)
            : null;
        if (auth is not null && auth.DmarcAsksForReject && RefusesForDmarc(file.Id, tx, auth) is { } dmarcRefusal)
        {
            await ResetTransactionAsync();
            return await ErrorAsync(dmarcRefusal);
        }
        var envelope = new Envelope(
            file.Id,
            _ctx.Time.GetUtcNow(),
            tx.Sender.ToString(),
            file.Length,
            parameters,
            new ClientTrace(_listener.Name, ClientIp, _helo ?? "", ProtocolName(tx.Parameters.SmtpUtf8), Tls, _account),
            tx.Recipients.ToList())
        {
            AuthenticationResults = auth?.HeaderField,
        };
        // From here to the next command this session may run on the queue's writer thread (see the command loop).
        _leaveWriterThread = true;
        switch (await _ctx.Acceptor.AcceptAsync(file, envelope, continueOnWriter: true))
        {
            case AcceptResult.TooBig:
                await ResetTransactionAsync();
                return await ErrorAsync(SmtpReply.MessageTooBig);
            case AcceptResult.StorageFailed failed:
                _tx = null;
                return RefuseForStorage(StorageReply(failed.Failure));
        }
        _tx = null;
        _record.Messages++;
        SecureMxMetrics.SmtpMessagesAccepted.Add(1, new KeyValuePair<string, object?>("listener", _listener.Name));
        _log.LogInformation("{Id}: from=<{Sender}> size={Size} nrcpt={Count} client={Ip} tls={Tls} account={Account} dkim={Dkim} auth={Auth}",
            envelope.Id, envelope.Sender, envelope.Size, envelope.Recipients.Count, ClientIp, Tls is null ? "none" : $"{Tls.Protocol} {Tls.CipherSuite}", _account ?? "-", signatures,
            auth is null ? "-" : $"\"{auth.Summary}\"");
        _transport.Write(new SmtpReply(250, EnhancedStatus.Ok, $"Ok: queued as {envelope.Id}"));
        return true;
    }

    /// <summary>
    /// SPF, DKIM and DMARC of a message received on the MX, between the end of its content and the commit
    /// (RFC 8601: the results are prepended at delivery). Never a reason to lose the message: an error here
    /// is logged and the message is accepted without results; time-outs are temperror results already.
    /// </summary>
    private async Task<MailAuth.InboundAuthentication?> AuthenticateAsync(MailAuth.InboundAuthenticator authenticator, SpoolFile file, Transaction tx)
    {
        try
        {
            await using var content = await file.OpenReadAsync();
            if (content is null) return null;
            var auth = await authenticator.AuthenticateAsync(ClientAddress.Normalize(_remote.Address), _helo ?? "", tx.Sender.IsNull ? "" : tx.Sender.ToString(),
                content, _ctx.Options.HostnameFor(_listener.Name), _abort);
            _log.LogInformation("{Id}: {Auth} helo-spf={HeloSpf} header.from={From} dkim-domains={DkimDomains} unchecked-signatures={Unchecked}",
                file.Id, auth.Summary, auth.HeloSpf.Result.ToString().ToLowerInvariant(), auth.Dmarc.FromDomain ?? "-",
                auth.Dkim.Count == 0 ? "-" : string.Join(',', auth.Dkim.Select(d => $"{d.Domain}/{d.Selector}")), auth.UncheckedSignatures);
            var problems = new[] { auth.MailFromSpf.Problem, auth.Dmarc.Problem }.Concat(auth.Dkim.Select(d => d.Problem)).Where(p => p is not null).ToList();
            if (problems.Count > 0) _log.LogDebug("{Id}: authentication details: {Problems}", file.Id, string.Join("; ", problems));
            return auth;
        }
        catch (Exception ex) when (!_abort.IsCancellationRequested)
        {
            _log.LogWarning(ex, "{Id}: authentication of the message failed ({Error}); accepted without Authentication-Results", file.Id, ex.Message);
            return null;
        }
    }

    /// <summary>
    /// Enforcement of a DMARC p=reject failure (RFC 7489 §6.7, §10.3): DATA has one reply for all recipients,
    /// so the message is refused only when every recipient's domain enforces; with mixed recipients it is
    /// accepted (the header says dmarc=fail) and the log says so. A store that cannot be read accepts.
    /// </summary>
    private SmtpReply? RefusesForDmarc(string id, Transaction tx, MailAuth.InboundAuthentication auth)
    {
        if (_ctx.EnforcesDmarc is not { } enforces) return null;
        var domains = tx.Recipients.Select(r => r.OriginalAddress[(r.OriginalAddress.LastIndexOf('@') + 1)..].ToLowerInvariant()).Distinct().ToList();
        int enforcing;
        try
        {
            enforcing = domains.Count(enforces);
        }
        catch (Exception ex) when (Store.StoreUnavailable.Is(ex))
        {
            _log.LogWarning("{Id}: DMARC fails under p=reject for {From}, but the store cannot be read to see who enforces it: accepted ({Error})", id, auth.Dmarc.FromDomain, ex.Message);
            return null;
        }
        if (enforcing == 0) return null;
        if (enforcing < domains.Count)
        {
            _log.LogWarning("{Id}: DMARC fails under p=reject for {From}; {Enforcing} of {Count} recipient domains enforce it: accepted for all (one reply to DATA), marked dmarc=fail",
                id, auth.Dmarc.FromDomain, enforcing, domains.Count);
            return null;
        }
        _log.LogWarning("session {Session} from {Ip}: {Id} refused: DMARC fails under p=reject for {From} ({Auth})", _record.Id, ClientIp, id, auth.Dmarc.FromDomain, auth.Summary);
        return Refused(new SmtpReply(550, EnhancedStatus.NotAuthorized, $"Email rejected per DMARC policy for {auth.Dmarc.FromDomain}"), "dmarc");
    }

    /// <summary>
    /// Answers a transaction the server could not store (or, at MAIL FROM, will not take for lack of
    /// space). Not counted toward limits.maxErrors: the client did nothing wrong, and a full disk must
    /// not end the sessions of well-behaved clients with 421 — they retry the message, later or elsewhere.
    /// </summary>
    private bool RefuseForStorage(SmtpReply reply)
    {
        _transport.Write(Refused(reply, "storage"));
        return true;
    }

    /// <summary>A full disk is "mail system full" (RFC 3463 §3.4, 452 4.3.1); every other storage failure a local error (451 4.3.0).</summary>
    private static SmtpReply StorageReply(StorageFailure failure) =>
        failure.DiskFull ? SmtpReply.InsufficientStorage : SmtpReply.LocalError;

    /// <summary>The "with" protocol of the Received header (RFC 3848, RFC 6531 §3.7.3): ESMTP, then S for TLS, A for AUTH.</summary>
    private string ProtocolName(bool utf8)
    {
        if (!_esmtp) return "SMTP";
        var name = utf8 ? "UTF8SMTP" : "ESMTP";
        if (Tls is not null) name += "S";
        if (_account is not null) name += "A";
        return name;
    }
}
