using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Logging;
using SecureMx.Client;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Tls;

namespace SecureMx.Delivery.Lmtp;

/// <summary>
/// Delivers the hosted recipients of one message to the mailbox server's LMTP service (RFC 2033,
/// delivery.lmtp) in one transaction: MAIL FROM the envelope sender, RCPT TO each recipient's
/// mailbox address, the message with our Received header, and one reply per accepted recipient
/// after the content (§4.2), each final for its recipient.
/// <para>
/// The server is ours, so its absence is never the sender's problem: a connection that cannot be
/// made, breaks, times out or is refused (421) defers every recipient without a reply of its own.
/// A recipient whose reply arrived keeps it, even when the connection breaks before the next one:
/// a 250 was delivered, and sending it again would deliver it twice.
/// </para>
/// <para>
/// TCP to anything but a loopback address must be protected (<see cref="LmtpTarget.RequiresTls"/>):
/// STARTTLS with the strict profile, and a certificate valid for the configured host name (or
/// address) under the system's CAs, or exactly the instance's own certificate (tls.certificate,
/// which a mailbox server on another node may share). A server that does not offer STARTTLS there
/// is not sent anything.
/// </para>
/// </summary>
/// <param name="instanceCertificate">The instance's own certificate now (a renewal may replace it), accepted from the LMTP server without a CA; null for none.</param>
public sealed class LmtpDelivery(LmtpTarget target, SecureMxOptions options, Func<X509Certificate2?> instanceCertificate, ILogger logger)
{
    private TimeSpan ConnectTimeout => TimeSpan.FromSeconds(options.Delivery.ConnectTimeoutSeconds);
    private TimeSpan TransactionTimeout => TimeSpan.FromSeconds(options.Delivery.TransactionTimeoutSeconds);

    /// <summary>Whether a connection must use STARTTLS; <see cref="LmtpTarget.RequiresTls"/>, replaceable by tests (every test server is on loopback).</summary>
    internal Func<EndPoint, bool> TlsRequiredFor { get; init; } = LmtpTarget.RequiresTls;

    public LmtpTarget Target => target;

    /// <summary>
    /// One outcome per recipient the attempt decided. A shutdown (<paramref name="ct"/>) leaves out
    /// every recipient without a reply of the server: not an attempt, due again at the next start.
    /// </summary>
    public async Task<IReadOnlyList<LmtpOutcome>> DeliverAsync(Envelope envelope, IReadOnlyList<QueuedRecipient> recipients, Func<Stream> openData, CancellationToken ct)
    {
        // RFC 5321 §4.4: our Received header; "for" only with a single recipient (no disclosure of the
        // others). The LMTP server adds Return-Path from MAIL FROM itself (Dovecot, Cyrus): ours would be a second one.
        var hostname = options.HostnameFor(envelope.Client.Listener);
        var received = TraceHeaders.ReceivedForMailbox(envelope, recipients.Count == 1 ? recipients[0].Recipient.Address : null, hostname, ReceivedNodeName.For(options));
        var spooled = openData;
        // RFC 8601 §5: with our results prepended, fields that claim our authserv-id in the content are forged.
        openData = envelope.AuthenticationResults is null
            ? () => new PrefixedStream(received, spooled())
            : () => new PrefixedStream(received, new ForgedResultsFilterStream(spooled(), hostname));
        var size = envelope.Size + received.Length;

        SmtpClientConnection? connection = null;
        var send = recipients.ToList(); // those still without an outcome
        var outcomes = new List<LmtpOutcome>();
        try
        {
            (connection, var failure) = await ConnectAsync(ct).ConfigureAwait(false);
            if (connection is null) return Deferred(recipients, failure!.Value.Status, failure.Value.Text, null);
            var tls = connection.Tls;

            // RFC 6531 §3.2: a non-ASCII address needs SMTPUTF8 (Dovecot 2.3 does not offer it). Content
            // alone does not: the mailbox server stores the bytes as they are.
            bool utf8 = envelope.Parameters.SmtpUtf8 && connection.Capabilities.SmtpUtf8;
            if (!utf8)
            {
                if (!Ascii.IsValid(envelope.Sender))
                {
                    return Failed(recipients, EnhancedStatus.NonAsciiAddress, 553,
                        $"{EnhancedStatus.NonAsciiAddress} the LMTP server does not support SMTPUTF8, which the sender address <{envelope.Sender}> needs (RFC 6531 3.2)", tls);
                }
                foreach (var r in send.Where(r => !Ascii.IsValid(r.Recipient.Address)).ToList())
                {
                    send.Remove(r);
                    outcomes.AddRange(Failed([r], EnhancedStatus.NonAsciiAddress, 553,
                        $"{EnhancedStatus.NonAsciiAddress} the LMTP server does not support SMTPUTF8, which this mailbox address needs (RFC 6531 3.2)", tls));
                }
                if (send.Count == 0) return outcomes;
            }
            var parameters = envelope.Parameters with { SmtpUtf8 = utf8 };
            if (parameters.Body == BodyType.EightBitMime && !connection.Capabilities.EightBitMime)
            {
                var sevenBit = await SevenBitConversion.ConvertAsync(openData, ct).ConfigureAwait(false);
                openData = () => new MemoryStream(sevenBit, writable: false);
                size = sevenBit.Length;
                parameters = parameters with { Body = BodyType.SevenBit };
                logger.LogInformation("{Id}: LMTP server {Target} has no 8BITMIME: message converted to 7-bit MIME", envelope.Id, target);
            }

            // RCPT TO is the mailbox address the recipient was routed to (aliases and subaddresses resolved):
            // the user name of the mailbox server's user database. DSN parameters are relayed only when offered.
            var outbound = send.Select(r => new OutboundRecipient(r.Recipient.Address, r.Recipient.Notify, r.Recipient.OrcptType, r.Recipient.Orcpt)).ToList();
            TransactionResult result;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                timeout.CancelAfter(TransactionTimeout);
                result = await connection.SendAsync(envelope.Sender, parameters, outbound, size, openData, timeout.Token).ConfigureAwait(false);
            }
            outcomes.AddRange(Outcomes(envelope, send, result, tls, ct));
            if (result.DataInterruption is null) await connection.QuitAsync(ct).ConfigureAwait(false);
            return outcomes;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return outcomes; // shutdown before the server's replies: those without an outcome are no attempt
        }
        catch (Exception ex) when (ex is SmtpClientException or SocketException or IOException or AuthenticationException or OperationCanceledException or ObjectDisposedException)
        {
            // Lost before the content's replies: nothing was delivered (RFC 5321 §6.1), all of it is tried again.
            var why = Describe(ex);
            logger.LogWarning("{Id}: LMTP server {Target}: {Error}", envelope.Id, target, why);
            var status = ex is SmtpClientException { Reply.IsTransient: true } s ? s.Reply.Status : EnhancedStatus.BadConnection;
            return [.. outcomes, .. Deferred(send, status, $"{status} LMTP server: {why}", connection?.Tls)];
        }
        finally
        {
            if (connection is not null) await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Each recipient's reply: MAIL's refusal, its own RCPT refusal, DATA's refusal, or its reply after the content.</summary>
    private List<LmtpOutcome> Outcomes(Envelope envelope, List<QueuedRecipient> send, TransactionResult result, NegotiatedTls? tls, CancellationToken ct)
    {
        var outcomes = new List<LmtpOutcome>();
        int accepted = 0;
        for (int i = 0; i < send.Count; i++)
        {
            SmtpClientReply? reply;
            if (!result.Mail.IsPositive) reply = result.Mail;
            else if (!result.Recipients[i].IsPositive) reply = result.Recipients[i];
            else if (result.Data is not null) reply = result.Data;
            else if (result.RecipientData is { } data && accepted < data.Count) reply = data[accepted++];
            else reply = null; // accepted, but the connection failed before its reply
            if (reply is null)
            {
                if (ct.IsCancellationRequested) continue; // shutdown: not an attempt
                var why = Describe(result.DataInterruption);
                logger.LogWarning("{Id}: to=<{Rcpt}> LMTP server {Target}: no reply after the message: {Error}", envelope.Id, send[i].Recipient.Address, target, why);
                outcomes.AddRange(Deferred([send[i]], EnhancedStatus.BadConnection,
                    $"{EnhancedStatus.BadConnection} LMTP server: no reply after the message ({why}); not known to be delivered", tls));
                continue;
            }
            outcomes.Add(FromReply(send[i], reply, tls));
        }
        return outcomes;
    }

    private static LmtpOutcome FromReply(QueuedRecipient r, SmtpClientReply reply, NegotiatedTls? tls)
    {
        var state = reply.IsPositive ? RecipientState.Delivered : reply.IsPermanent ? RecipientState.Failed : RecipientState.Deferred;
        var text = reply.IsPositive ? $"{reply.Status} delivered by LMTP: {reply}" : $"{reply.Status} LMTP server said: {reply}";
        return new LmtpOutcome(r, new DeliveryOutcome(state, OutcomeReason.Local, reply.Status, text, reply.Code), reply.ToString(), tls);
    }

    private static List<LmtpOutcome> Deferred(IEnumerable<QueuedRecipient> recipients, EnhancedStatus status, string text, NegotiatedTls? tls) =>
        recipients.Select(r => new LmtpOutcome(r, new DeliveryOutcome(RecipientState.Deferred, OutcomeReason.Local, status, text, 451), null, tls)).ToList();

    private static List<LmtpOutcome> Failed(IEnumerable<QueuedRecipient> recipients, EnhancedStatus status, int code, string text, NegotiatedTls? tls) =>
        recipients.Select(r => new LmtpOutcome(r, new DeliveryOutcome(RecipientState.Failed, OutcomeReason.ServerCapability, status, text, code), null, tls)).ToList();

    private static string Describe(Exception? ex) => ex switch
    {
        null => "connection lost",
        SmtpClientException s => $"{s.Stage}: {s.Reply}",
        SmtpClientTimeoutException timeout => timeout.Message,
        OperationCanceledException => "timed out",
        _ => Innermost(ex),
    };

    /// <summary>The address tried, for a log line: nothing more for a socket, which the target names already.</summary>
    private string Where(EndPoint endpoint) => endpoint is UnixDomainSocketEndPoint ? target.ToString() : $"{target} [{endpoint}]";

    private static string Innermost(Exception ex)
    {
        while (ex.InnerException is not null) ex = ex.InnerException;
        return ex.Message;
    }

    /// <summary>A failure before the transaction: the enhanced status and the text every recipient is deferred with.</summary>
    private readonly record struct ConnectFailure(EnhancedStatus Status, string Text);

    /// <summary>
    /// A connection that greeted, said 250 to LHLO and, where required, went through STARTTLS; or why
    /// there is none. A host name is looked up with the system's resolver and its addresses tried in turn.
    /// </summary>
    private async Task<(SmtpClientConnection? Connection, ConnectFailure? Failure)> ConnectAsync(CancellationToken ct)
    {
        IReadOnlyList<EndPoint> endpoints;
        if (target.SocketPath is { } path)
        {
            endpoints = [new UnixDomainSocketEndPoint(path)];
        }
        else if (target.Literal is { } ip)
        {
            endpoints = [new IPEndPoint(ip, target.Port)];
        }
        else
        {
            try
            {
                using var lookup = CancellationTokenSource.CreateLinkedTokenSource(ct);
                lookup.CancelAfter(ConnectTimeout);
                var addresses = await System.Net.Dns.GetHostAddressesAsync(target.Host!, lookup.Token).ConfigureAwait(false);
                endpoints = addresses.Select(a => (EndPoint)new IPEndPoint(a, target.Port)).ToList();
            }
            catch (Exception ex) when (ex is SocketException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
            {
                var why = ex is SmtpClientTimeoutException timeout ? timeout.Message : ex is OperationCanceledException ? "timed out" : ex.Message;
                logger.LogWarning("LMTP server {Target}: cannot resolve {Host}: {Error}", target, target.Host, why);
                return (null, new ConnectFailure(EnhancedStatus.DirectoryServerFailure, $"{EnhancedStatus.DirectoryServerFailure} LMTP server: cannot resolve its host name: {why}"));
            }
            if (endpoints.Count == 0) return (null, new ConnectFailure(EnhancedStatus.DirectoryServerFailure, $"{EnhancedStatus.DirectoryServerFailure} LMTP server: its host name has no address"));
        }

        var reasons = new List<string>();
        foreach (var endpoint in endpoints)
        {
            SmtpClientConnection? connection = null;
            try
            {
                using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    timeout.CancelAfter(ConnectTimeout);
                    connection = await SmtpClientConnection.ConnectAsync(endpoint, options.Hostname, ClientProtocol.Lmtp, null, timeout.Token).ConfigureAwait(false);
                }
                if (TlsRequiredFor(endpoint))
                {
                    if (!connection.Capabilities.StartTls)
                    {
                        // Never in clear text over a network: the mail is not sent, and waits.
                        await connection.QuitAsync(ct).ConfigureAwait(false);
                        await connection.DisposeAsync().ConfigureAwait(false);
                        var text = $"{EnhancedStatus.SecurityNotSupported} LMTP server does not offer STARTTLS, which is required for LMTP over a network";
                        logger.LogWarning("LMTP server {Target}: does not offer STARTTLS, which is required for LMTP over a network", Where(endpoint));
                        return (null, new ConnectFailure(EnhancedStatus.SecurityNotSupported, text));
                    }
                    string? verdict = null;
                    try
                    {
                        using var tlsTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                        tlsTimeout.CancelAfter(ConnectTimeout);
                        await connection.StartTlsAsync(ClientOptions(v => verdict = v), TlsVerification.Verified, tlsTimeout.Token).ConfigureAwait(false);
                        logger.LogDebug("LMTP server {Target}: {Verdict}", Where(endpoint), verdict);
                    }
                    catch (Exception ex) when (ex is AuthenticationException or IOException or SmtpClientException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
                    {
                        await connection.DisposeAsync().ConfigureAwait(false);
                        var why = verdict is not null && ex is AuthenticationException ? verdict : ex is SmtpClientTimeoutException timeout ? timeout.Message : ex is OperationCanceledException ? "timed out" : Innermost(ex);
                        logger.LogWarning("LMTP server {Target}: TLS failed: {Error}", Where(endpoint), why);
                        return (null, new ConnectFailure(EnhancedStatus.CryptographicFailure, $"{EnhancedStatus.CryptographicFailure} LMTP server: TLS failed: {why}"));
                    }
                }
                return (connection, null);
            }
            catch (Exception ex) when (ex is SocketException or IOException or SmtpClientException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
            {
                if (connection is not null) await connection.DisposeAsync().ConfigureAwait(false);
                var why = Describe(ex);
                logger.LogWarning("LMTP server {Target}: {Error}", Where(endpoint), why);
                reasons.Add(why);
            }
        }
        var status = EnhancedStatus.NoAnswerFromHost;
        return (null, new ConnectFailure(status, $"{status} LMTP server not reachable: {string.Join("; ", reasons.Distinct())}"));
    }

    /// <summary>
    /// The strict profile; SNI and the name check are the configured host (an address literal is
    /// checked against the certificate's IP addresses). The instance's own certificate is accepted as
    /// it is: the same certificate and key on both sides.
    /// </summary>
    private SslClientAuthenticationOptions ClientOptions(Action<string> verdict) => new()
    {
        TargetHost = target.Host,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        EnabledSslProtocols = TlsProfile.Strict.Protocols,
        CipherSuitesPolicy = TlsProfile.Strict.CipherPolicy(),
        RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            if (errors == SslPolicyErrors.None)
            {
                verdict("certificate verified (PKIX)");
                return true;
            }
            if (certificate is not null && instanceCertificate() is { } own && certificate.GetRawCertData().AsSpan().SequenceEqual(own.RawData))
            {
                verdict("the instance's own certificate");
                return true;
            }
            verdict($"certificate not trusted for {target.Host}: {errors}");
            return false;
        },
    };
}
