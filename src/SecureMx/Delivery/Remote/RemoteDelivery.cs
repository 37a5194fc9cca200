using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;
using SecureMx.Client;
using SecureMx.Config;
using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Telemetry;

namespace SecureMx.Delivery.Remote;

/// <summary>
/// Delivers the recipients of one message that share a destination domain (RFC 5321 §5): MX
/// lookup, every MX host and address in order until one takes the transaction, and one outcome per
/// recipient. TLS per host follows <see cref="HostTlsRequirement"/>: the message's effective level
/// (none, may, dane, encrypt, dane-only, verify) and the host's DNSSEC-secure TLSA records (DANE,
/// RFC 7672). A host that cannot meet a TLS requirement is skipped with its reason; when no host
/// takes the message, a TLS reason defers it with 4.7.4/4.7.5 — never a downgrade to plaintext.
/// </summary>
public sealed class RemoteDelivery(IMailDnsResolver dns, SecureMxOptions options, ILogger logger, SmtpConnectionCache? cache = null, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    private readonly SourceAddresses _sources = SourceAddresses.From(options.Delivery);

    private TimeSpan ConnectTimeout => TimeSpan.FromSeconds(options.Delivery.ConnectTimeoutSeconds);
    private TimeSpan TransactionTimeout => TimeSpan.FromSeconds(options.Delivery.TransactionTimeoutSeconds);

    /// <summary>A host that did not take the transaction, and whether a TLS requirement was the reason.</summary>
    /// <param name="TlsFailure">Why STARTTLS failed when the host then failed in plaintext (opportunistic levels); else null.</param>
    /// <param name="RequireTls">The host was turned away by the REQUIRETLS rule (<see cref="RequireTlsRule"/>).</param>
    private sealed record HostFailure(EnhancedStatus Enhanced, string Text, bool Tls, string? Host = null, IPAddress? Address = null, string? TlsFailure = null, bool RequireTls = false);

    /// <param name="ignoreRecipientPolicies">
    /// The recipient's own policies (its DANE TLSA records; its MTA-STS policy) play no part: a honoured
    /// "TLS-Required: No" (RFC 8689 §4.2.2, decided by <see cref="TlsRequiredHeader"/>). The level is kept:
    /// what the sender or the operator configured still applies. Never set for a REQUIRETLS message.
    /// </param>
    public async Task<IReadOnlyList<RemoteOutcome>> DeliverAsync(Envelope envelope, string domain, IReadOnlyList<QueuedRecipient> recipients,
        Func<Stream> openData, CancellationToken ct, OutboundTlsLevel level = OutboundTlsLevel.May, bool useDane = true, bool ignoreRecipientPolicies = false)
    {
        if (ignoreRecipientPolicies && !envelope.Parameters.RequireTls) useDane = false;
        // RFC 5321 §4.4: a relay adds its Received header too, not only the final delivery.
        var received = TraceHeaders.Received(envelope, recipients.Count == 1 ? recipients[0].Recipient.Address : null, options.HostnameFor(envelope.Client.Listener), ReceivedNodeName.For(options));
        var spooled = openData;
        openData = () => new PrefixedStream(received, spooled());
        envelope = envelope with { Size = envelope.Size + received.Length };

        var mx = await dns.ResolveMxAsync(domain, ct).ConfigureAwait(false);
        if (mx.Failure is { } dnsFailure) return All(recipients, OutcomeReason.Dns, dnsFailure.Code, dnsFailure.Enhanced, dnsFailure.Text);
        // RFC 8689 §4.2.1: a REQUIRETLS message goes only over authenticated TLS, never opportunistically.
        var requireTls = RequireTlsRule.For(envelope, mx);
        if (requireTls is not null) level = RequireTlsRule.Raise(level);

        var failures = new List<HostFailure>();
        bool anyAddress = false;
        foreach (var host in mx.Targets)
        {
            var addresses = await dns.ResolveAddressesAsync(host.Name, ct).ConfigureAwait(false);
            if (addresses.IsTemporaryFailure)
            {
                failures.Add(new HostFailure(EnhancedStatus.DirectoryServerFailure, $"{host.Name}: {addresses.FailureReason}", Tls: false));
                continue;
            }
            // Both families, always (an AAAA-only host too); a source address per family (SourceAddresses).
            var usable = _sources.ToTry(addresses.Addresses);
            if (usable.Count == 0) continue;
            anyAddress = true;

            // Without DANE (a destination entry below dane) TLSA is not even looked up: a broken TLSA zone cannot defer the mail.
            var tlsa = useDane && mx.DaneAppliesTo(addresses) ? await dns.ResolveTlsaAsync(host.Name, options.Delivery.SmtpPort, ct).ConfigureAwait(false) : null;
            var (requirement, unusable) = HostTlsRequirement.For(level, tlsa, host.Name, useDane);
            if (requirement is null)
            {
                failures.Add(new HostFailure(EnhancedStatus.CryptographicFailure, unusable!, Tls: true, host.Name));
                continue;
            }
            foreach (var ip in usable)
            {
                var attempt = await TryHostAsync(envelope, domain, host.Name, ip, requirement, recipients, openData, requireTls, ct).ConfigureAwait(false);
                if (attempt.Outcomes is not null) return attempt.Outcomes;
                failures.Add(attempt.Failure!);
            }
        }
        if (!anyAddress && failures.Count == 0)
        {
            var none = mx.NoAddressFailure();
            return All(recipients, OutcomeReason.Dns, none.Code, none.Enhanced, none.Text);
        }
        // Nobody took the transaction: everyone waits for the next attempt, with the reasons of every host.
        // When a TLS requirement turned a host away, that is the reason (4.7.4/4.7.5, as Postfix says it).
        var text = string.Join("; ", failures.Select(f => f.Text));
        // Every host turned away by REQUIRETLS (or its TLS): final, 5.7.30 (RFC 8689 §5); one that was down is tried again.
        if (requireTls is not null && RequireTlsRule.Fails(failures, f => f.RequireTls || f.Tls && f.Address is not null))
        {
            var last = failures.Last();
            return All(recipients, OutcomeReason.ServerCapability, 550, EnhancedStatus.RequireTlsNeeded, RequireTlsRule.FailureText(text))
                .Select(o => o with { MxHost = last.Host, Address = last.Address }).ToList();
        }
        var tlsFailure = failures.FirstOrDefault(f => f.Tls);
        // A host that failed in plaintext after its STARTTLS failed: the delivery log says so too, not only the text.
        var fellBack = failures.LastOrDefault(f => f.TlsFailure is not null)?.TlsFailure;
        return tlsFailure is null
            ? All(recipients, OutcomeReason.Connection, 451, EnhancedStatus.NoAnswerFromHost, text).Select(o => o with { TlsFailure = fellBack }).ToList()
            : All(recipients, OutcomeReason.TlsRequirement, 451, tlsFailure.Enhanced, text)
                .Select(o => o with { MxHost = tlsFailure.Host, Address = tlsFailure.Address }).ToList();
    }

    /// <summary>The same outcome for every recipient; a permanent status fails them, a transient one defers them.</summary>
    private static List<RemoteOutcome> All(IReadOnlyList<QueuedRecipient> recipients, OutcomeReason reason, int code, EnhancedStatus enhanced, string text) =>
        recipients.Select(r => new RemoteOutcome(r.Index, r.Recipient.Address, enhanced.IsPermanent ? RecipientState.Failed : RecipientState.Deferred,
            code, enhanced, text, null, null, null, reason)).ToList();

    private sealed record HostAttempt(IReadOnlyList<RemoteOutcome>? Outcomes, HostFailure? Failure);

    private async Task<HostAttempt> TryHostAsync(Envelope envelope, string domain, string host, IPAddress ip, HostTlsRequirement requirement,
        IReadOnlyList<QueuedRecipient> recipients, Func<Stream> openData, RequireTlsRule? requireTls, CancellationToken ct)
    {
        var where = $"{host}[{ip}]";
        var cacheKey = requirement.CacheKey(host);
        SmtpClientConnection? connection = null;
        // After a failed STARTTLS and a plaintext retry (on this attempt, or on the one that opened a cached connection), whatever happens next says so too.
        string? tlsFallback = null;
        string Where() => tlsFallback is null ? where : $"{where} (in plaintext after starttls-failed: {tlsFallback})";
        try
        {
            // A cached session to this server has been through the same TLS requirement already.
            connection = cache is null ? null : await cache.TakeAsync(new IPEndPoint(ip, options.Delivery.SmtpPort), cacheKey, ct).ConfigureAwait(false);
            tlsFallback = connection?.PlaintextAfterStartTlsFailed;
            if (connection is null)
            {
                connection = await ConnectAsync(ip, ct).ConfigureAwait(false);
                var (tlsFailure, fresh, fallback) = await NegotiateTlsAsync(envelope.Id, connection, requirement, host, domain, ip, where, ct).ConfigureAwait(false);
                connection = fresh;
                if (fallback is not null)
                {
                    // Set before the new connection is tried: a reconnect that fails must still say the STARTTLS failed.
                    tlsFallback = fallback.Reason;
                    connection = null; // disposed by NegotiateTlsAsync
                    connection = await ConnectAsync(ip, ct).ConfigureAwait(false);
                    connection.PlaintextAfterStartTlsFailed = tlsFallback;
                }
                if (tlsFailure is not null)
                {
                    logger.LogInformation("{Id}: {Host}: {Reason}", envelope.Id, where, tlsFailure.Text);
                    return new HostAttempt(null, tlsFailure);
                }
            }
            if (requireTls?.Refusal(connection.Tls, connection.Capabilities) is { } refused)
            {
                // RFC 8689 §4.2.1: QUIT before MAIL, then the next MX host; nothing of the message was sent.
                logger.LogInformation("{Id}: {Host}: {Reason}", envelope.Id, where, refused);
                try { await connection.QuitAsync(ct).ConfigureAwait(false); } catch (Exception ex) when (ex is IOException or SmtpClientException) { }
                return new HostAttempt(null, new HostFailure(EnhancedStatus.RequireTlsNeeded, $"{where}: {refused}", Tls: false, host, ip, RequireTls: true));
            }
            // RFC 6531 §3.2: a message that needs SMTPUTF8 must not go to a server without it.
            if (envelope.Parameters.SmtpUtf8 && !connection.Capabilities.SmtpUtf8)
            {
                return new HostAttempt(All(recipients, OutcomeReason.ServerCapability, 553, EnhancedStatus.NonAsciiAddress, $"{host} does not support SMTPUTF8, which this message needs (RFC 6531 3.2)")
                    .Select(o => o with { MxHost = host, Address = ip, Tls = connection.Tls, TlsFailure = tlsFallback }).ToList(), null);
            }
            if (connection.Capabilities.MaxSize is { } max && envelope.Size > max)
            {
                return new HostAttempt(All(recipients, OutcomeReason.ServerCapability, 552, EnhancedStatus.MessageTooBig, $"message size {envelope.Size} exceeds the limit of {host} ({max} bytes)")
                    .Select(o => o with { MxHost = host, Address = ip, Tls = connection.Tls, TlsFailure = tlsFallback }).ToList(), null);
            }

            // RFC 6152 §3: 8-bit content must not go to a server without 8BITMIME. Convert it to 7-bit
            // MIME (quoted-printable/base64) rather than bounce: the content survives, only its
            // transfer encoding changes (a DKIM signature over the body may not).
            var size = envelope.Size;
            var parameters = envelope.Parameters;
            if (parameters.Body == BodyType.EightBitMime && !connection.Capabilities.EightBitMime)
            {
                var sevenBit = await SevenBitConversion.ConvertAsync(openData, ct).ConfigureAwait(false);
                openData = () => new MemoryStream(sevenBit, writable: false);
                size = sevenBit.Length;
                parameters = parameters with { Body = BodyType.SevenBit };
                logger.LogInformation("{Id}: {Host} has no 8BITMIME: message converted to 7-bit MIME", envelope.Id, where);
            }
            var outbound = recipients.Select(r => new OutboundRecipient(r.Recipient.Address, r.Recipient.Notify, r.Recipient.OrcptType, r.Recipient.Orcpt)).ToList();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TransactionTimeout);
            var result = await connection.SendAsync(envelope.Sender, parameters, outbound, size, openData, timeout.Token).ConfigureAwait(false);
            var tls = connection.Tls;
            var peerDsn = connection.Capabilities.Dsn;
            if (cache is not null && result.Data is not null)
            {
                await cache.ReturnAsync(connection, cacheKey, ct).ConfigureAwait(false);
                connection = null; // the cache owns it now
            }
            else
            {
                await connection.QuitAsync(ct).ConfigureAwait(false);
            }

            // A transient reply to MAIL is about this host, not the recipients: try the next one (as Postfix does).
            if (result.Mail.IsTransient) return new HostAttempt(null, new HostFailure(EnhancedStatus.NoAnswerFromHost, $"{Where()} said: {result.Mail}", Tls: false, TlsFailure: tlsFallback));
            var outcomes = new List<RemoteOutcome>();
            for (int i = 0; i < recipients.Count; i++)
            {
                var reply = !result.Mail.IsPositive ? result.Mail
                    : !result.Recipients[i].IsPositive ? result.Recipients[i]
                    : result.Data ?? result.Recipients[i];
                var state = reply.IsPositive ? RecipientState.Delivered : reply.IsPermanent ? RecipientState.Failed : RecipientState.Deferred;
                var text = string.Join(" ", reply.Lines);
                outcomes.Add(new RemoteOutcome(recipients[i].Index, recipients[i].Recipient.Address, state, reply.Code, reply.Status, text, host, ip, tls,
                    OutcomeReason.RemoteReply, PeerSupportsDsn: peerDsn, TlsFailure: tlsFallback));
            }
            return new HostAttempt(outcomes, null);
        }
        catch (SmtpClientException ex) when (!ct.IsCancellationRequested)
        {
            return new HostAttempt(null, new HostFailure(EnhancedStatus.NoAnswerFromHost, $"{Where()}: {ex.Stage}: {ex.Reply}", Tls: false, TlsFailure: tlsFallback));
        }
        catch (Exception ex) when (ex is SocketException or IOException or AuthenticationException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            // Connection refused, reset or timed out, or lost in the middle of the transaction: nothing was
            // acknowledged, so the next host (or the next attempt) may get the same message (RFC 5321 §6.1).
            // A timeout says at which stage: silence after the final dot is not silence at connect.
            var why = ex is OperationCanceledException ? ex is SmtpClientTimeoutException ? ex.Message : "timed out" : ex.Message;
            return new HostAttempt(null, new HostFailure(EnhancedStatus.NoAnswerFromHost, $"{Where()}: {why}", Tls: false, TlsFailure: tlsFallback));
        }
        finally
        {
            if (connection is not null) await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>SslStream says "Authentication failed, see inner exception"; OpenSSL's reason is at the bottom.</summary>
    internal static string Innermost(Exception ex)
    {
        while (ex.InnerException is not null) ex = ex.InnerException;
        return ex.Message;
    }

    private async Task<SmtpClientConnection> ConnectAsync(IPAddress ip, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(ConnectTimeout);
        return await SmtpClientConnection.ConnectAsync(new IPEndPoint(ip, options.Delivery.SmtpPort), options.Hostname, _sources.For(ip), timeout.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// STARTTLS as the requirement says. Returns the reason when the host cannot be used (TLS
    /// required but not offered: 4.7.4; handshake or verification failed: 4.7.5), and the connection
    /// to go on with; for opportunistic TLS after a failed handshake the reason it failed, with the
    /// old connection disposed (it is in an unknown state): the caller opens a new plaintext one
    /// (RFC 7435) once it has noted the reason (<paramref name="id"/> names the message in the log line).
    /// </summary>
    private async Task<(HostFailure? Failure, SmtpClientConnection Connection, StartTlsFailure? Fallback)> NegotiateTlsAsync(string id, SmtpClientConnection connection,
        HostTlsRequirement requirement, string host, string domain, IPAddress ip, string where, CancellationToken ct)
    {
        if (requirement.Mode == HostTlsMode.Plaintext) return (null, connection, null);
        if (!connection.Capabilities.StartTls)
        {
            if (!requirement.TlsRequired) return (null, connection, null);
            try { await connection.QuitAsync(ct).ConfigureAwait(false); } catch (Exception ex) when (ex is IOException or SmtpClientException) { }
            return (new HostFailure(EnhancedStatus.SecurityNotSupported, $"TLS is required, but was not offered by host {where}", Tls: true, host, ip), connection, null);
        }
        string? verdict = null;
        try
        {
            using var tlsTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            tlsTimeout.CancelAfter(ConnectTimeout);
            await connection.StartTlsAsync(requirement.ClientOptions(host, domain, _time, v => verdict = v), requirement.Verification, tlsTimeout.Token).ConfigureAwait(false);
            if (requirement.Mode == HostTlsMode.Dane) logger.LogInformation("{Host}: DANE: {Verdict}", where, verdict);
            if (connection.Tls is { IsStrict: false } weak)
            {
                // Accepted only where TLS is opportunistic (the strict profile cannot negotiate it): recorded, never hidden.
                SecureMxMetrics.WeakTlsSessions.Add(1, new KeyValuePair<string, object?>("protocol", weak.Protocol));
                logger.LogInformation("{Id}: {Host}: weak TLS: {Protocol} {Cipher} (below TLS 1.2 with ECDHE and AEAD; better than plaintext)", id, where, weak.Protocol, weak.CipherSuite);
            }
            return (null, connection, null);
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or SmtpClientException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            var failure = StartTlsFailure.Of(ex);
            SecureMxMetrics.StartTlsFailures.Add(1, new KeyValuePair<string, object?>("reason", failure.Class),
                new KeyValuePair<string, object?>("then", requirement.TlsRequired ? "skipped" : "plaintext"));
            if (!requirement.TlsRequired)
            {
                logger.LogWarning("{Id}: {Host}: starttls-failed: {Reason}; retrying in plaintext on a new connection", id, where, failure.Reason);
                await connection.DisposeAsync().ConfigureAwait(false);
                return (null, connection, failure);
            }
            var why = requirement.Mode switch
            {
                HostTlsMode.Dane when verdict is not null => $"Server certificate of {where} not verified by DANE: {verdict}",
                HostTlsMode.Verify when verdict is not null => $"Server certificate of {where} not verified: {verdict}",
                _ when requirement.StrictProfile => $"TLS handshake with {where} failed: TLS 1.2 or newer with secure ciphers (ECDHE, AES-GCM or ChaCha20-Poly1305) could not be negotiated ({Innermost(ex)})",
                _ => $"TLS handshake with {where} failed: {Innermost(ex)}",
            };
            return (new HostFailure(EnhancedStatus.CryptographicFailure, why, Tls: true, host, ip), connection, null);
        }
    }
}
