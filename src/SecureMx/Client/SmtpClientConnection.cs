using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using SecureMx.Mail;

namespace SecureMx.Client;

/// <summary>One recipient as the client sends it: address and the DSN parameters to relay (RFC 3461).</summary>
public sealed record OutboundRecipient(string Address, DsnNotify Notify, string? OrcptType, string? Orcpt);

/// <summary>
/// What one mail transaction achieved: the MAIL reply, one reply per recipient, and the reply to the
/// data. Over SMTP <see cref="Data"/> is the reply to the content, or the refusal of DATA; null when
/// no DATA was sent. Over LMTP <see cref="Data"/> is only a refusal of DATA: the content's replies
/// are in <see cref="RecipientData"/>.
/// </summary>
public sealed record TransactionResult(SmtpClientReply Mail, IReadOnlyList<SmtpClientReply> Recipients, SmtpClientReply? Data)
{
    /// <summary>
    /// LMTP only (RFC 2033 §4.2): the replies after the content, one per recipient whose RCPT was
    /// accepted, in RCPT order. Fewer than that when the connection failed between two of them
    /// (<see cref="DataInterruption"/> says how): each reply that did arrive stands, the others are unknown.
    /// </summary>
    public IReadOnlyList<SmtpClientReply>? RecipientData { get; init; }

    /// <summary>Why <see cref="RecipientData"/> is incomplete (the connection closed, a malformed reply, a timeout); null when complete.</summary>
    public Exception? DataInterruption { get; init; }
}

/// <summary>The connection failed at the protocol level; <see cref="Reply"/> says what to tell the sender.</summary>
public sealed class SmtpClientException(SmtpClientReply reply, string stage) : Exception($"{stage}: {reply}")
{
    public SmtpClientReply Reply { get; } = reply;
    public string Stage { get; } = stage;
}

/// <summary>
/// The client side of SMTP (RFC 5321 §3, §4) written for an MTA, not a mail program: it streams the
/// spooled bytes unchanged (dot-stuffing only), relays ORCPT/NOTIFY/RET/ENVID as received, pipelines
/// when the server allows (RFC 2920), and reports every recipient's own reply. Why not MailKit:
/// its SmtpClient re-parses every message through MimeKit and always writes ORCPT as the current
/// recipient (a private method in MailKit 4.18); an MTA must relay the original bytes and parameters.
/// The same connection speaks LMTP (RFC 2033, <see cref="ClientProtocol.Lmtp"/>) to a mailbox
/// server, over TCP or a unix-domain socket.
/// </summary>
public sealed class SmtpClientConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _network;
    private Stream _stream;
    private PipeReader _reader;
    private readonly string _localName;

    public ServerCapabilities Capabilities { get; private set; } = ServerCapabilities.Helo;
    public NegotiatedTls? Tls { get; private set; }
    public SmtpClientReply? Greeting { get; private set; }

    /// <summary>The server: an <see cref="IPEndPoint"/>, or for LMTP also a <see cref="UnixDomainSocketEndPoint"/>.</summary>
    public EndPoint Remote { get; }

    /// <summary>Our end of the connection (the source address a TLS report names as sending-mta-ip); null when the system cannot say.</summary>
    public EndPoint? Local { get; }

    public ClientProtocol Protocol { get; }

    /// <summary>
    /// Why this connection is plaintext although the server offers STARTTLS: the handshake on an
    /// earlier connection failed (set by the caller). It travels with the connection, through a
    /// connection cache too, so that every transaction on it is recorded as such.
    /// </summary>
    public string? PlaintextAfterStartTlsFailed { get; set; }

    /// <summary>Mail transactions this connection has carried to their end (a connection cache caps its reuse by them).</summary>
    public int Transactions { get; private set; }

    /// <summary>What the connection last sent or waits for; a timeout names it (<see cref="SmtpClientTimeoutException"/>).</summary>
    public ClientStage Stage { get; private set; } = ClientStage.Connect;

    private SmtpClientConnection(Socket socket, EndPoint remote, string localName, ClientProtocol protocol)
    {
        _socket = socket;
        _network = new NetworkStream(socket, ownsSocket: true);
        _stream = _network;
        _reader = PipeReader.Create(_network, new StreamPipeReaderOptions(leaveOpen: true));
        _localName = localName;
        Remote = remote;
        Protocol = protocol;
        try { Local = socket.LocalEndPoint; } catch (SocketException) { }
    }

    /// <summary>Connects (optionally from <paramref name="source"/>), reads the greeting and says EHLO (HELO as fallback).</summary>
    public static Task<SmtpClientConnection> ConnectAsync(IPEndPoint remote, string localName, IPAddress? source, CancellationToken ct) =>
        ConnectAsync(remote, localName, ClientProtocol.Smtp, source, ct);

    /// <summary>
    /// Connects to <paramref name="remote"/> (TCP, or a <see cref="UnixDomainSocketEndPoint"/>),
    /// reads the greeting and says EHLO (HELO as fallback) or, for LMTP, LHLO.
    /// </summary>
    public static async Task<SmtpClientConnection> ConnectAsync(EndPoint remote, string localName, ClientProtocol protocol, IPAddress? source, CancellationToken ct)
    {
        var socket = remote is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(remote.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (source is not null) socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(remote, ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex)
        {
            socket.Dispose();
            throw new SmtpClientTimeoutException(ClientStage.Connect, ex);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var c = new SmtpClientConnection(socket, remote, localName, protocol) { Stage = ClientStage.Greeting };
        try
        {
            c.Greeting = await c.ReadReplyAsync(ct).ConfigureAwait(false);
            if (c.Greeting.Code != 220) throw new SmtpClientException(c.Greeting, "greeting");
            await c.HelloAsync(ct).ConfigureAwait(false);
            return c;
        }
        catch (OperationCanceledException ex) when (ex is not SmtpClientTimeoutException)
        {
            await c.DisposeAsync().ConfigureAwait(false);
            throw new SmtpClientTimeoutException(c.Stage, ex);
        }
        catch
        {
            await c.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Runs <paramref name="step"/>; a cancellation inside it becomes a timeout that names the stage it happened at.</summary>
    private async Task<T> StagedAsync<T>(Func<Task<T>> step)
    {
        try
        {
            return await step().ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (ex is not SmtpClientTimeoutException)
        {
            throw new SmtpClientTimeoutException(Stage, ex);
        }
    }

    private async Task HelloAsync(CancellationToken ct)
    {
        Stage = ClientStage.Hello;
        if (Protocol == ClientProtocol.Lmtp)
        {
            // RFC 2033 §4.1: LHLO, and no HELO to fall back on.
            var lhlo = await CommandAsync($"LHLO {_localName}", ct).ConfigureAwait(false);
            if (lhlo.Code != 250) throw new SmtpClientException(lhlo, "LHLO");
            Capabilities = ServerCapabilities.Parse(lhlo);
            return;
        }
        var ehlo = await CommandAsync($"EHLO {_localName}", ct).ConfigureAwait(false);
        if (ehlo.Code == 250)
        {
            Capabilities = ServerCapabilities.Parse(ehlo);
            return;
        }
        // RFC 5321 §3.2: a server that does not know EHLO answers 500/502; fall back to HELO.
        var helo = await CommandAsync($"HELO {_localName}", ct).ConfigureAwait(false);
        if (helo.Code != 250) throw new SmtpClientException(helo, "HELO");
        Capabilities = ServerCapabilities.Helo;
    }

    /// <summary>STARTTLS (RFC 3207) and a new EHLO (LHLO over LMTP). Throws <see cref="SmtpClientException"/> when the server refuses, AuthenticationException when the handshake fails.</summary>
    public Task StartTlsAsync(SslClientAuthenticationOptions options, TlsVerification verification, CancellationToken ct) =>
        StagedAsync(async () =>
        {
            Stage = ClientStage.StartTls;
            var reply = await CommandAsync("STARTTLS", ct).ConfigureAwait(false);
            if (reply.Code != 220) throw new SmtpClientException(reply, "STARTTLS");
            await _reader.CompleteAsync().ConfigureAwait(false);
            Stage = ClientStage.TlsHandshake;
            var ssl = new SslStream(_network, leaveInnerStreamOpen: true);
            await ssl.AuthenticateAsClientAsync(options, ct).ConfigureAwait(false);
            _stream = ssl;
            _reader = PipeReader.Create(ssl, new StreamPipeReaderOptions(leaveOpen: true));
            Tls = NegotiatedTls.From(ssl, verification);
            // RFC 3207 §4.2: everything learned before TLS is forgotten.
            await HelloAsync(ct).ConfigureAwait(false);
            return true;
        });

    /// <summary>
    /// One mail transaction. Recipients refused by the server get their own reply; DATA is sent when
    /// at least one was accepted. The content is streamed from <paramref name="openData"/>, dot-stuffed.
    /// </summary>
    public Task<TransactionResult> SendAsync(string sender, MailParameters parameters, IReadOnlyList<OutboundRecipient> recipients, long size, Func<Stream> openData, CancellationToken ct) =>
        StagedAsync(async () =>
        {
            var result = await TransactionAsync(sender, parameters, recipients, size, openData, ct).ConfigureAwait(false);
            Transactions++;
            return result;
        });

    private async Task<TransactionResult> TransactionAsync(string sender, MailParameters parameters, IReadOnlyList<OutboundRecipient> recipients, long size, Func<Stream> openData, CancellationToken ct)
    {
        var mail = new StringBuilder($"MAIL FROM:<{sender}>");
        if (Capabilities.MaxSize is not null) mail.Append(" SIZE=").Append(size);
        if (parameters.Body == BodyType.EightBitMime && Capabilities.EightBitMime) mail.Append(" BODY=8BITMIME");
        if (parameters.SmtpUtf8 && Capabilities.SmtpUtf8) mail.Append(" SMTPUTF8");
        if (Capabilities.Dsn)
        {
            if (parameters.Ret != DsnReturn.Unspecified) mail.Append(" RET=").Append(parameters.Ret == DsnReturn.Full ? "FULL" : "HDRS");
            if (parameters.EnvId is not null) mail.Append(" ENVID=").Append(Xtext.Encode(parameters.EnvId));
        }
        // RFC 8689 §4.2.1: the flag travels on; whether this server may have the message at all is the caller's rule.
        if (parameters.RequireTls && Capabilities.RequireTls && Tls is not null) mail.Append(" REQUIRETLS");
        var commands = new List<string> { mail.ToString() };
        foreach (var r in recipients)
        {
            var rcpt = new StringBuilder($"RCPT TO:<{r.Address}>");
            if (Capabilities.Dsn)
            {
                if (r.Notify != DsnNotify.Unspecified) rcpt.Append(" NOTIFY=").Append(NotifyText(r.Notify));
                if (r.Orcpt is not null) rcpt.Append(" ORCPT=").Append(r.OrcptType ?? "rfc822").Append(';').Append(Xtext.Encode(r.Orcpt));
            }
            commands.Add(rcpt.ToString());
        }

        SmtpClientReply mailReply;
        var rcptReplies = new List<SmtpClientReply>();
        if (Capabilities.Pipelining)
        {
            // RFC 2920 §3.1: MAIL, every RCPT and DATA in one go; the replies come back in order.
            foreach (var c in commands) Write(c);
            Write("DATA");
            Stage = ClientStage.Mail;
            await FlushAsync(ct).ConfigureAwait(false);
            mailReply = await ReadReplyAsync(ct).ConfigureAwait(false);
            Stage = ClientStage.Rcpt;
            for (int i = 0; i < recipients.Count; i++) rcptReplies.Add(await ReadReplyAsync(ct).ConfigureAwait(false));
            Stage = ClientStage.Data;
            var dataReply = await ReadReplyAsync(ct).ConfigureAwait(false);
            if (!mailReply.IsPositive || rcptReplies.All(r => !r.IsPositive))
            {
                if (dataReply.Code == 354)
                {
                    // A server that opens DATA with no recipient gets an empty message, which it must refuse (RFC 2920 §3.1).
                    // An LMTP server answers that once per accepted recipient: none (RFC 2033 §4.2).
                    if (Protocol == ClientProtocol.Lmtp)
                    {
                        Write(".");
                        await FlushAsync(ct).ConfigureAwait(false);
                    }
                    else
                    {
                        Stage = ClientStage.AfterFinalDot;
                        await CommandAsync(".", ct).ConfigureAwait(false);
                    }
                }
                return new TransactionResult(mailReply, rcptReplies, null);
            }
            if (dataReply.Code != 354) return new TransactionResult(mailReply, rcptReplies, dataReply);
        }
        else
        {
            Stage = ClientStage.Mail;
            mailReply = await CommandAsync(commands[0], ct).ConfigureAwait(false);
            if (!mailReply.IsPositive) return new TransactionResult(mailReply, recipients.Select(_ => mailReply).ToList(), null);
            Stage = ClientStage.Rcpt;
            for (int i = 1; i < commands.Count; i++) rcptReplies.Add(await CommandAsync(commands[i], ct).ConfigureAwait(false));
            if (rcptReplies.All(r => !r.IsPositive)) return new TransactionResult(mailReply, rcptReplies, null);
            Stage = ClientStage.Data;
            var dataReply = await CommandAsync("DATA", ct).ConfigureAwait(false);
            if (dataReply.Code != 354) return new TransactionResult(mailReply, rcptReplies, dataReply);
        }
        if (!mailReply.IsPositive) return new TransactionResult(mailReply, recipients.Select(_ => mailReply).ToList(), null);

        Stage = ClientStage.Content;
        await using (var data = openData())
        {
            await DotStuffing.CopyAsync(data, _stream, ct).ConfigureAwait(false);
        }
        await _stream.FlushAsync(ct).ConfigureAwait(false);
        Stage = ClientStage.AfterFinalDot;
        if (Protocol == ClientProtocol.Lmtp) return await ReadRecipientDataAsync(mailReply, rcptReplies, ct).ConfigureAwait(false);
        var final = await ReadReplyAsync(ct).ConfigureAwait(false);
        return new TransactionResult(mailReply, rcptReplies, final);
    }

    /// <summary>
    /// RFC 2033 §4.2: after the content an LMTP server replies once for every recipient it accepted,
    /// in RCPT order, each reply saying whether the message was delivered to that recipient. A reply
    /// that arrived is final for its recipient even when the connection fails before the next one
    /// (a 250 means it was delivered: sending it again would deliver it twice), so the failure is
    /// reported beside the replies instead of being thrown.
    /// </summary>
    private async Task<TransactionResult> ReadRecipientDataAsync(SmtpClientReply mailReply, List<SmtpClientReply> rcptReplies, CancellationToken ct)
    {
        int accepted = rcptReplies.Count(r => r.IsPositive);
        var replies = new List<SmtpClientReply>(accepted);
        try
        {
            while (replies.Count < accepted) replies.Add(await ReadReplyAsync(ct).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is IOException or SmtpClientException or OperationCanceledException or ObjectDisposedException)
        {
            var interruption = ex is OperationCanceledException cancelled and not SmtpClientTimeoutException ? new SmtpClientTimeoutException(Stage, cancelled) : ex;
            return new TransactionResult(mailReply, rcptReplies, null) { RecipientData = replies, DataInterruption = interruption };
        }
        return new TransactionResult(mailReply, rcptReplies, null) { RecipientData = replies };
    }

    private static string NotifyText(DsnNotify n) =>
        n.HasFlag(DsnNotify.Never) ? "NEVER" : string.Join(",", new[] { (DsnNotify.Success, "SUCCESS"), (DsnNotify.Failure, "FAILURE"), (DsnNotify.Delay, "DELAY") }.Where(x => n.HasFlag(x.Item1)).Select(x => x.Item2));

    /// <summary>RSET between transactions on a reused connection (RFC 5321 §4.1.1.5).</summary>
    public Task<bool> ResetAsync(CancellationToken ct) => StagedAsync(async () =>
    {
        Stage = ClientStage.Reset;
        return (await CommandAsync("RSET", ct).ConfigureAwait(false)).Code == 250;
    });

    public async Task QuitAsync(CancellationToken ct)
    {
        Stage = ClientStage.Quit;
        try { await CommandAsync("QUIT", ct).ConfigureAwait(false); }
        catch (Exception ex) when (ex is IOException or SmtpClientException or OperationCanceledException or ObjectDisposedException) { }
    }

    private void Write(string command)
    {
        var bytes = Encoding.UTF8.GetBytes(command + "\r\n");
        _pendingOutput.Write(bytes);
    }

    private readonly ArrayBufferWriter<byte> _pendingOutput = new();

    private async Task FlushAsync(CancellationToken ct)
    {
        await _stream.WriteAsync(_pendingOutput.WrittenMemory, ct).ConfigureAwait(false);
        await _stream.FlushAsync(ct).ConfigureAwait(false);
        _pendingOutput.ResetWrittenCount();
    }

    public async Task<SmtpClientReply> CommandAsync(string command, CancellationToken ct)
    {
        Write(command);
        await FlushAsync(ct).ConfigureAwait(false);
        return await ReadReplyAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Reads one reply, multi-line included (RFC 5321 §4.2.1). Lines are limited to keep a hostile server from exhausting memory.</summary>
    public async Task<SmtpClientReply> ReadReplyAsync(CancellationToken ct)
    {
        var lines = new List<string>();
        int code = 0;
        while (true)
        {
            var line = await ReadLineAsync(ct).ConfigureAwait(false);
            if (line.Length < 3 || !int.TryParse(line.AsSpan(0, 3), out var c) || c < 200 || c > 599 || (line.Length > 3 && line[3] is not (' ' or '-')))
                throw new SmtpClientException(SmtpClientReply.Local(451, EnhancedStatus.ProtocolError, "malformed reply from server: " + Truncate(line)), "reply");
            if (code != 0 && c != code)
                throw new SmtpClientException(SmtpClientReply.Local(451, EnhancedStatus.ProtocolError, "inconsistent multi-line reply from server"), "reply");
            code = c;
            lines.Add(line.Length > 4 ? line[4..] : "");
            if (lines.Count > 100) throw new SmtpClientException(SmtpClientReply.Local(451, EnhancedStatus.ProtocolError, "reply from server too long"), "reply");
            if (line.Length == 3 || line[3] == ' ') break;
        }
        return new SmtpClientReply(code, SmtpClientReply.FindEnhanced(lines[0]), lines);
    }

    private static string Truncate(string s) => s.Length > 80 ? s[..80] + "…" : s;

    private async Task<string> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            var result = await _reader.ReadAsync(ct).ConfigureAwait(false);
            var buffer = result.Buffer;
            var lf = buffer.PositionOf((byte)'\n');
            if (lf is not null)
            {
                var slice = buffer.Slice(0, lf.Value);
                var text = Encoding.UTF8.GetString(slice).TrimEnd('\r');
                _reader.AdvanceTo(buffer.GetPosition(1, lf.Value));
                return text;
            }
            if (buffer.Length > 4096) throw new SmtpClientException(SmtpClientReply.Local(451, EnhancedStatus.ProtocolError, "reply line from server too long"), "reply");
            if (result.IsCompleted)
            {
                _reader.AdvanceTo(buffer.End);
                throw new SmtpClientException(SmtpClientReply.Local(451, EnhancedStatus.BadConnection, "connection closed by server"), "reply");
            }
            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        try { await _reader.CompleteAsync().ConfigureAwait(false); } catch (InvalidOperationException) { }
        if (_stream is SslStream ssl) await ssl.DisposeAsync().ConfigureAwait(false);
        await _network.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
    }
}
