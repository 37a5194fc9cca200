using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;
using SecureMx.Client;
using SecureMx.Config;
using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.MtaSts;
using SecureMx.Spool;
using SecureMx.Telemetry;
using SecureMx.Tls;

namespace SecureMx.Delivery.Remote;

/// <summary>
/// Delivers the recipients of one message that share a destination domain (RFC 5321 §5): MX
/// lookup, every MX host and address in order until one takes the transaction, and one outcome per
/// recipient. TLS per host follows <see cref="HostTlsRequirement"/>: the message's effective level
/// (none, may, dane, encrypt, dane-only, verify) and the host's DNSSEC-secure TLSA records (DANE,
/// RFC 7672). A host that cannot meet a TLS requirement is skipped with its reason; when no host
/// takes the message, a TLS reason defers it with 4.7.4/4.7.5 — never a downgrade to plaintext.
/// The recipient domain's MTA-STS policy (RFC 8461, <paramref name="mtaSts"/>; null: no MTA-STS) is
/// asked once per delivery of the domain and applied per host by <see cref="MtaStsDelivery"/>, unless
/// the operator's destination entry lowered the domain below dane (<c>useDane</c> false: the override
/// for a broken destination switches off the recipient-side policies, DANE and MTA-STS alike).
/// PKIX (level verify, MTA-STS) trusts <paramref name="trust"/>: the system's CAs and delivery.trustAnchorsFile
/// (<see cref="InstanceTrust"/>; tests pass <see cref="PkixTrust.SystemOnly"/> or their own anchors).
/// Every new session to an MX host, and every MTA-STS policy that could not be had, goes to
/// <paramref name="tlsSessions"/> for TLS reporting (RFC 8460; <see cref="TlsSessionPolicy"/>, null: not counted).
/// </summary>
public sealed class RemoteDelivery(IMailDnsResolver dns, SecureMxOptions options, ILogger logger, PkixTrust trust, SmtpConnectionCache? cache = null, TimeProvider? time = null,
    IMtaStsPolicySource? mtaSts = null, ITlsSessionRecorder? tlsSessions = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    private readonly SourceAddresses _sources = SourceAddresses.From(options.Delivery);

    private readonly DestinationRoutes _routes = new(time ?? TimeProvider.System);

    /// <summary>Destinations none of whose hosts could be reached a moment ago: their mail is deferred without trying (<see cref="UnreachableDestinations"/>).</summary>
    public UnreachableDestinations Unreachable { get; } = new(UnreachableDestinations.PeriodFor(options), time ?? TimeProvider.System);

    /// <summary>Which connection a host attempt may use.</summary>
    private enum ConnectionChoice
    {
        /// <summary>An idle one from the cache, else a new one.</summary>
        CachedOrNew,
        /// <summary>A new one (a reused one just failed).</summary>
        New,
        /// <summary>Only an idle one from the cache; none: nothing tried (a route of <see cref="DestinationRoutes"/>).</summary>
        IdleOnly,
    }

    private TimeSpan ConnectTimeout => TimeSpan.FromSeconds(options.Delivery.ConnectTimeoutSeconds);
    private TimeSpan TransactionTimeout => TimeSpan.FromSeconds(options.Delivery.TransactionTimeoutSeconds);

    /// <summary>A host that did not take the transaction, and whether a TLS requirement was the reason.</summary>
    /// <param name="TlsFailure">Why STARTTLS failed when the host then failed in plaintext (opportunistic levels); else null.</param>
    /// <param name="RequireTls">The host was turned away by the REQUIRETLS rule (<see cref="RequireTlsRule"/>).</param>
    /// <param name="MtaSts">The host failed (enforce) or would fail (testing) the recipient domain's MTA-STS policy: why, for the delivery log.</param>
    /// <param name="ByMtaSts">The recipient domain's MTA-STS policy (enforce) turned the host away: the deferral's requirement is the recipient's.</param>
    /// <param name="TlsRefused">
    /// The host definitely cannot meet the TLS requirement: it does not offer STARTTLS, or its certificate
    /// failed verification (DANE, PKIX, MTA-STS). Not a 4xx reply to STARTTLS, a timeout or a reset: those may pass.
    /// </param>
    /// <param name="Result">Why the session failed its TLS requirement, in RFC 8460 §4.3 terms (for TLS reporting; <see cref="MtaSts"/>'s type when set).</param>
    /// <param name="Unreachable">No session came about: the connection was refused or timed out, or the host failed before its greeting and EHLO were done.</param>
    private sealed record HostFailure(EnhancedStatus Enhanced, string Text, bool Tls, string? Host = null, IPAddress? Address = null, string? TlsFailure = null, bool RequireTls = false,
        MtaStsDeliveryFailure? MtaSts = null, bool ByMtaSts = false, bool TlsRefused = false, TlsResultType? Result = null, bool Unreachable = false);

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
        else if (RequireTlsRule.IsReport(envelope)) level = RequireTlsRule.RaiseForReport(level);

        // RFC 8461 §5: the recipient domain's MTA-STS policy, once per delivery of the domain; not where
        // the operator's destination entry (none, may) switched the recipient-side policies off.
        MtaStsDelivery? sts = null;
        MtaStsDeliveryFailure? stsUnavailable = null;
        if (mtaSts is not null && useDane)
        {
            string? unreadable;
            try
            {
                (sts, stsUnavailable, unreadable) = await MtaStsDelivery.LookupAsync(mtaSts, domain, logger, envelope.Id, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                unreadable = ex.Message;
            }
            if (unreadable is not null)
            {
                // Not the RFC's "no policy to be had" (that is Unavailable): the store or the source broke. Never sent under a guessed policy.
                logger.LogWarning("{Id}: the MTA-STS policy of {Domain} cannot be read: {Error}; deferred", envelope.Id, domain, unreadable);
                return All(recipients, OutcomeReason.Connection, 451, EnhancedStatus.LocalError, $"the MTA-STS policy of {domain} cannot be read: {unreadable}");
            }
        }
        // TLS reporting counts what the recipient's policies made of our sessions: not where the operator's
        // destination entry or a honoured "TLS-Required: No" switched them off (no TLSA lookup, no MTA-STS).
        // Nor the sessions that carry our own TLS reports (RFC 8460 §5.3: "SHOULD NOT include this SMTP session in the next report").
        bool report = tlsSessions is not null && useDane && !envelope.Client.IsTlsReport;
        // RFC 8460 §4.3.2.2: a policy that could not be had, once per delivery attempt, before any host.
        if (report && stsUnavailable is not null)
            Record(new TlsSessionPolicy(TlsReportPolicyType.Sts, [], []).Result(_time.GetUtcNow(), domain, stsUnavailable.ResultType, stsUnavailable.Detail));

        // Delivered there a moment ago under the same policy: an idle connection to that host, without its address
        // and TLSA lookups (DestinationRoutes). Nothing idle, or a failure: the full way below, every host in order.
        var routeKey = cache is null ? null : RouteKey(domain, level, useDane, requireTls, sts, stsUnavailable);
        if (routeKey is not null && _routes.Find(routeKey) is { } route && mx.Targets.Any(t => string.Equals(t.Name, route.Host, StringComparison.OrdinalIgnoreCase)))
        {
            var quick = await TryHostOnceAsync(envelope, domain, route.Host, route.Address, route.Requirement, recipients, openData, requireTls, ConnectionChoice.IdleOnly, ct).ConfigureAwait(false);
            if (quick.Outcomes is not null)
            {
                Unreachable.Reached(domain);
                return quick.Outcomes;
            }
            if (quick.Failure is not null) _routes.Forget(routeKey);
        }

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
                // RFC 8460 §4.3.2.1: a bogus (failed) TLSA answer, TLSA records none of which is usable, or dane-only without any.
                if (report)
                {
                    var result = tlsa?.Kind == TlsaResolutionKind.TemporaryFailure ? TlsResultType.DnssecInvalid
                        : tlsa?.Kind == TlsaResolutionKind.Secure ? TlsResultType.TlsaInvalid
                        : TlsResultType.DaneRequired;
                    Record(TlsSessionPolicy.Tlsa(tlsa).Result(_time.GetUtcNow(), domain, result, unusable, host.Name));
                }
                failures.Add(new HostFailure(EnhancedStatus.CryptographicFailure, unusable!, Tls: true, host.Name));
                continue;
            }
            // MTA-STS (RFC 8461 §4): enforce skips an unlisted host and asks verified TLS of the others;
            // testing judges each session after the fact. A DANE host is DANE's alone (§2).
            MtaStsDelivery? audit = null;
            MtaStsDeliveryFailure? wouldFail = null;
            if (sts is not null)
            {
                (var stsRequirement, var refused, wouldFail, var judge) = sts.ForHost(host.Name, requirement);
                if (refused is not null)
                {
                    if (report) Record(TlsSessionPolicy.Sts(sts.Lookup.Policy!).Result(_time.GetUtcNow(), domain, refused.ResultType, refused.Detail, host.Name));
                    failures.Add(new HostFailure(EnhancedStatus.CryptographicFailure, refused.Detail, Tls: true, host.Name, MtaSts: refused, ByMtaSts: true));
                    continue;
                }
                requirement = stsRequirement!;
                audit = judge ? sts : null;
            }
            var reportAs = report ? TlsSessionPolicy.For(requirement, tlsa, sts) : null;
            foreach (var ip in usable)
            {
                var attempt = await TryHostAsync(envelope, domain, host.Name, ip, requirement, recipients, openData, requireTls, ct, audit, wouldFail, reportAs).ConfigureAwait(false);
                if (attempt.Outcomes is not null)
                {
                    if (routeKey is not null && audit is null) _routes.Remember(routeKey, host.Name, ip, requirement);
                    Unreachable.Reached(domain);
                    return WithPolicyFailure(attempt.Outcomes, stsUnavailable);
                }
                failures.Add(attempt.Failure!);
            }
        }
        if (!anyAddress && failures.Count == 0)
        {
            var none = mx.NoAddressFailure();
            return WithPolicyFailure(All(recipients, OutcomeReason.Dns, none.Code, none.Enhanced, none.Text), stsUnavailable);
        }
        // Nobody took the transaction: everyone waits for the next attempt, with the reasons of every host.
        // When a TLS requirement turned a host away, that is the reason (4.7.4/4.7.5, as Postfix says it).
        var text = string.Join("; ", failures.Select(f => f.Text));
        // Every host turned away by REQUIRETLS, or definitely unable to meet its TLS: final, 5.7.30 (RFC 8689 §5).
        // One that was down, timed out, or answered STARTTLS with a 4xx is tried again, as for any message.
        if (requireTls is not null && RequireTlsRule.Fails(failures, f => f.RequireTls || f.TlsRefused))
        {
            var last = failures.Last();
            return All(recipients, OutcomeReason.ServerCapability, 550, EnhancedStatus.RequireTlsNeeded, RequireTlsRule.FailureText(text))
                .Select(o => o with { MxHost = last.Host, Address = last.Address }).ToList();
        }
        var tlsFailure = failures.FirstOrDefault(f => f.Tls);
        // A host that failed in plaintext after its STARTTLS failed: the delivery log says so too, not only the text.
        var fellBack = failures.LastOrDefault(f => f.TlsFailure is not null)?.TlsFailure;
        // What the MTA-STS policy said of the hosts (the first that failed it), else why it could not be had.
        var stsFailure = failures.FirstOrDefault(f => f.MtaSts is not null)?.MtaSts ?? stsUnavailable;
        // No host could even be reached: the destination is down, and the mail after this one is deferred without trying for a while.
        if (tlsFailure is null && failures.Count > 0 && failures.All(f => f.Unreachable)) Unreachable.Suspend(domain, text);
        return tlsFailure is null
            ? All(recipients, OutcomeReason.Connection, 451, EnhancedStatus.NoAnswerFromHost, text).Select(o => o with { TlsFailure = fellBack, MtaStsFailure = stsFailure?.ToString() }).ToList()
            : All(recipients, OutcomeReason.TlsRequirement, 451, tlsFailure.Enhanced, text)
                .Select(o => o with { MxHost = tlsFailure.Host, Address = tlsFailure.Address, MtaStsFailure = stsFailure?.ToString(), RequiredByMtaSts = tlsFailure.ByMtaSts }).ToList();
    }

    /// <summary>
    /// The key of a <see cref="DestinationRoutes"/> route: everything besides the host's own DNS records that decides
    /// which connection may carry the message. None under MTA-STS testing (every session is judged afresh) or when the
    /// policy could not be had (asked again each time).
    /// </summary>
    private static string? RouteKey(string domain, OutboundTlsLevel level, bool useDane, RequireTlsRule? requireTls, MtaStsDelivery? sts, MtaStsDeliveryFailure? stsUnavailable) =>
        sts is { Mode: not MtaStsMode.Enforce } || stsUnavailable is not null ? null
        : $"{domain.ToLowerInvariant()}|{level}|{useDane}|{requireTls is not null}|{sts?.Lookup.PolicyId}";

    /// <summary>A policy that could not be fetched (RFC 8461 §5) goes into every row that has no MTA-STS failure of its own.</summary>
    private static IReadOnlyList<RemoteOutcome> WithPolicyFailure(IReadOnlyList<RemoteOutcome> outcomes, MtaStsDeliveryFailure? unavailable) =>
        unavailable is null ? outcomes : outcomes.Select(o => o.MtaStsFailure is null ? o with { MtaStsFailure = unavailable.ToString() } : o).ToList();

    /// <summary>The same outcome for every recipient; a permanent status fails them, a transient one defers them.</summary>
    private static List<RemoteOutcome> All(IReadOnlyList<QueuedRecipient> recipients, OutcomeReason reason, int code, EnhancedStatus enhanced, string text) =>
        recipients.Select(r => new RemoteOutcome(r.Index, r.Recipient.Address, enhanced.IsPermanent ? RecipientState.Failed : RecipientState.Deferred,
            code, enhanced, text, null, null, null, reason)).ToList();

    /// <param name="Reopen">A reused connection failed before any of the message was sent: worth a new connection to the same host at once.</param>
    private sealed record HostAttempt(IReadOnlyList<RemoteOutcome>? Outcomes, HostFailure? Failure, bool Reopen = false);

    /// <summary>Nothing of the message went yet: the transaction failed at MAIL, RCPT or DATA (RFC 5321 §6.1: no duplicate possible).</summary>
    private static bool BeforeContent(SmtpClientConnection? connection) => connection?.Stage is ClientStage.Mail or ClientStage.Rcpt or ClientStage.Data;

    /// <param name="audit">MTA-STS testing: the policy that judges this session after the handshake (RFC 8461 §5), else null.</param>
    /// <param name="wouldFail">MTA-STS testing: what the host already fails before any connection (not listed).</param>
    /// <param name="reportAs">The policy a new session is counted under for TLS reporting; null: not counted.</param>
    private async Task<HostAttempt> TryHostAsync(Envelope envelope, string domain, string host, IPAddress ip, HostTlsRequirement requirement,
        IReadOnlyList<QueuedRecipient> recipients, Func<Stream> openData, RequireTlsRule? requireTls, CancellationToken ct, MtaStsDelivery? audit = null, MtaStsDeliveryFailure? wouldFail = null,
        TlsSessionPolicy? reportAs = null)
    {
        var attempt = await TryHostOnceAsync(envelope, domain, host, ip, requirement, recipients, openData, requireTls, ConnectionChoice.CachedOrNew, ct, audit, wouldFail, reportAs).ConfigureAwait(false);
        // A reused connection that failed before the message went (a 4xx to MAIL: perhaps the server's own limit of
        // messages per connection; or closed by the server meanwhile): once more on a new connection, not a deferral.
        if (attempt.Reopen) attempt = await TryHostOnceAsync(envelope, domain, host, ip, requirement, recipients, openData, requireTls, ConnectionChoice.New, ct, audit, wouldFail, reportAs).ConfigureAwait(false);
        return attempt;
    }

    /// <param name="choice">Which connection: with <see cref="ConnectionChoice.IdleOnly"/> and none idle, neither outcomes nor a failure.</param>
    private async Task<HostAttempt> TryHostOnceAsync(Envelope envelope, string domain, string host, IPAddress ip, HostTlsRequirement requirement,
        IReadOnlyList<QueuedRecipient> recipients, Func<Stream> openData, RequireTlsRule? requireTls, ConnectionChoice choice, CancellationToken ct, MtaStsDelivery? audit = null,
        MtaStsDeliveryFailure? wouldFail = null, TlsSessionPolicy? reportAs = null)
    {
        var where = $"{host}[{ip}]";
        var cacheKey = requirement.CacheKey(host);
        // A judged session is a fresh one: a cached connection's certificate was not seen by this attempt.
        var connections = audit is null ? cache : null;
        bool reused = false;
        PkixVerdict? pkix = null;
        MtaStsDeliveryFailure? stsFailure = null;
        SmtpClientConnection? connection = null;
        bool answered = false; // a session came about (greeting and EHLO): the host is reachable, whatever fails after
        // After a failed STARTTLS and a plaintext retry (on this attempt, or on the one that opened a cached connection), whatever happens next says so too.
        string? tlsFallback = null;
        string Where() => tlsFallback is null ? where : $"{where} (in plaintext after starttls-failed: {tlsFallback})";
        try
        {
            // A cached session to this server has been through the same TLS requirement already.
            connection = connections is null || choice == ConnectionChoice.New ? null : await connections.TakeAsync(new IPEndPoint(ip, options.Delivery.SmtpPort), cacheKey, ct).ConfigureAwait(false);
            reused = connection is not null;
            answered = reused;
            if (connection is null && choice == ConnectionChoice.IdleOnly) return new HostAttempt(null, null);
            tlsFallback = connection?.PlaintextAfterStartTlsFailed;
            if (connection is null)
            {
                connection = await ConnectAsync(ip, ct).ConfigureAwait(false);
                answered = true;
                var sendingIp = (connection.Local as IPEndPoint)?.Address.ToString();
                var (tlsFailure, fresh, fallback) = await NegotiateTlsAsync(envelope.Id, connection, requirement, host, domain, ip, where, ct,
                    audit is null ? null : v => pkix = v).ConfigureAwait(false);
                connection = fresh;
                if (fallback is not null)
                {
                    // Counted before the new connection is tried: the TLS session failed, whether or not plaintext then works.
                    if (reportAs is not null && SessionResult(reportAs, requirement, where, null, fallback, audit is not null, audit?.Judge(where, wouldFail, null, pkix)) is { } broken)
                        Record(reportAs.Result(_time.GetUtcNow(), domain, broken.Failure, broken.Detail, host, ip.ToString(), sendingIp));
                    // Set before the new connection is tried: a reconnect that fails must still say the STARTTLS failed.
                    tlsFallback = fallback.Reason;
                    connection = null; // disposed by NegotiateTlsAsync
                    connection = await ConnectAsync(ip, ct).ConfigureAwait(false);
                    connection.PlaintextAfterStartTlsFailed = tlsFallback;
                }
                if (tlsFailure is not null)
                {
                    if (reportAs is not null)
                        Record(reportAs.Result(_time.GetUtcNow(), domain, tlsFailure.MtaSts?.ResultType ?? tlsFailure.Result ?? TlsResultType.ValidationFailure,
                            tlsFailure.MtaSts?.Detail ?? tlsFailure.Text, host, ip.ToString(), sendingIp));
                    logger.LogInformation("{Id}: {Host}: {Reason}", envelope.Id, where, tlsFailure.Text);
                    return new HostAttempt(null, tlsFailure);
                }
                // MTA-STS testing: what enforce would have said of this session; the mail goes on regardless (RFC 8461 §5).
                stsFailure = audit?.Judge(where, wouldFail, connection.Tls, pkix);
                if (stsFailure is not null) audit!.Report(stsFailure);
                if (reportAs is not null && fallback is null && SessionResult(reportAs, requirement, where, connection.Tls, null, audit is not null, stsFailure) is { } counted)
                    Record(reportAs.Result(_time.GetUtcNow(), domain, counted.Failure, counted.Detail, host, ip.ToString(), sendingIp));
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
                    .Select(o => o with { MxHost = host, Address = ip, Tls = connection.Tls, TlsFailure = tlsFallback, MtaStsFailure = stsFailure?.ToString() }).ToList(), null);
            }
            if (connection.Capabilities.MaxSize is { } max && envelope.Size > max)
            {
                return new HostAttempt(All(recipients, OutcomeReason.ServerCapability, 552, EnhancedStatus.MessageTooBig, $"message size {envelope.Size} exceeds the limit of {host} ({max} bytes)")
                    .Select(o => o with { MxHost = host, Address = ip, Tls = connection.Tls, TlsFailure = tlsFallback, MtaStsFailure = stsFailure?.ToString() }).ToList(), null);
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
            if (connections is not null && result.Data is not null)
            {
                await connections.ReturnAsync(connection, cacheKey, ct).ConfigureAwait(false);
                connection = null; // the cache owns it now
            }
            else
            {
                await connection.QuitAsync(ct).ConfigureAwait(false);
            }

            // A transient reply to MAIL is about this host, not the recipients: try the next one (as Postfix does).
            if (result.Mail.IsTransient) return new HostAttempt(null, new HostFailure(EnhancedStatus.NoAnswerFromHost, $"{Where()} said: {result.Mail}", Tls: false, TlsFailure: tlsFallback, MtaSts: stsFailure),
                Reopen: reused);
            var outcomes = new List<RemoteOutcome>();
            for (int i = 0; i < recipients.Count; i++)
            {
                var reply = !result.Mail.IsPositive ? result.Mail
                    : !result.Recipients[i].IsPositive ? result.Recipients[i]
                    : result.Data ?? result.Recipients[i];
                var state = reply.IsPositive ? RecipientState.Delivered : reply.IsPermanent ? RecipientState.Failed : RecipientState.Deferred;
                var text = string.Join(" ", reply.Lines);
                outcomes.Add(new RemoteOutcome(recipients[i].Index, recipients[i].Recipient.Address, state, reply.Code, reply.Status, text, host, ip, tls,
                    OutcomeReason.RemoteReply, PeerSupportsDsn: peerDsn, TlsFailure: tlsFallback, MtaStsFailure: stsFailure?.ToString()));
            }
            return new HostAttempt(outcomes, null);
        }
        catch (SmtpClientException ex) when (!ct.IsCancellationRequested)
        {
            return new HostAttempt(null, new HostFailure(EnhancedStatus.NoAnswerFromHost, $"{Where()}: {ex.Stage}: {ex.Reply}", Tls: false, TlsFailure: tlsFallback, MtaSts: stsFailure,
                Unreachable: !answered), Reopen: reused && BeforeContent(connection));
        }
        catch (Exception ex) when (ex is SocketException or IOException && reused && BeforeContent(connection) && !ct.IsCancellationRequested)
        {
            return new HostAttempt(null, new HostFailure(EnhancedStatus.NoAnswerFromHost, $"{Where()}: {ex.Message}", Tls: false, TlsFailure: tlsFallback, MtaSts: stsFailure), Reopen: true);
        }
        catch (Exception ex) when (ex is SocketException or IOException or AuthenticationException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            // Connection refused, reset or timed out, or lost in the middle of the transaction: nothing was
            // acknowledged, so the next host (or the next attempt) may get the same message (RFC 5321 §6.1).
            // A timeout says at which stage: silence after the final dot is not silence at connect.
            var why = ex is OperationCanceledException ? ex is SmtpClientTimeoutException ? ex.Message : "timed out" : ex.Message;
            return new HostAttempt(null, new HostFailure(EnhancedStatus.NoAnswerFromHost, $"{Where()}: {why}", Tls: false, TlsFailure: tlsFallback, MtaSts: stsFailure, Unreachable: !answered));
        }
        finally
        {
            if (connection is not null) await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// What a new session that went ahead counts as in a TLS report (RFC 8460 §4.3, §4.4): a TLS session that
    /// met the policy is a success. MTA-STS testing: what enforce would have said (<paramref name="judged"/>).
    /// A session without TLS is a failure under every policy (no-policy-found included: the summary counts
    /// "failures to negotiate a TLS-enabled connection"): starttls-not-supported when the host offered none
    /// or refused the command, validation-failure when the handshake broke and the mail went in plaintext.
    /// DANE with TLSA records none of which is usable (RFC 7672 §2.2: unauthenticated TLS) is tlsa-invalid.
    /// Null: not counted (level none: no STARTTLS was tried, so there is nothing to say of the host).
    /// </summary>
    private static (TlsResultType? Failure, string? Detail)? SessionResult(TlsSessionPolicy policy, HostTlsRequirement requirement, string where, NegotiatedTls? tls,
        StartTlsFailure? fallback, bool judged, MtaStsDeliveryFailure? judgement)
    {
        if (requirement.Mode == HostTlsMode.Plaintext) return null;
        if (judged) return (judgement?.ResultType, judgement?.Detail);
        if (fallback is not null)
            return (fallback.Class == "refused" ? TlsResultType.StartTlsNotSupported : TlsResultType.ValidationFailure, $"{where}: starttls-failed: {fallback.Reason}");
        if (tls is null) return (TlsResultType.StartTlsNotSupported, $"{where} does not offer STARTTLS");
        if (policy.Type == TlsReportPolicyType.Tlsa && requirement.Mode != HostTlsMode.Dane)
            return (TlsResultType.TlsaInvalid, $"{where}: no usable TLSA records; TLS without authentication (RFC 7672 §2.2)");
        return (null, null);
    }

    /// <summary>Counts a session for TLS reporting; never fails or holds up the delivery.</summary>
    private void Record(TlsSessionResult result)
    {
        try
        {
            tlsSessions?.Record(result);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "TLS reporting: the session to {Domain} could not be counted", result.PolicyDomain);
        }
    }

    private static void CountEnforced(MtaStsDeliveryFailure failure) => SecureMxMetrics.MtaStsFailures.Add(1,
        new KeyValuePair<string, object?>("mode", MtaStsMode.Enforce.Name()), new KeyValuePair<string, object?>("result", failure.ResultType.Name()));

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
    /// <param name="audit">Receives the PKIX verdict of the server's certificate whatever the requirement (MTA-STS testing).</param>
    private async Task<(HostFailure? Failure, SmtpClientConnection Connection, StartTlsFailure? Fallback)> NegotiateTlsAsync(string id, SmtpClientConnection connection,
        HostTlsRequirement requirement, string host, string domain, IPAddress ip, string where, CancellationToken ct, Action<PkixVerdict>? audit = null)
    {
        if (requirement.Mode == HostTlsMode.Plaintext) return (null, connection, null);
        // Under MTA-STS (enforce) the reasons name the policy, and say it for the delivery log in RFC 8460 terms.
        var policy = requirement.Mode == HostTlsMode.MtaSts ? requirement.MtaStsPolicy : null;
        if (!connection.Capabilities.StartTls)
        {
            if (!requirement.TlsRequired) return (null, connection, null);
            try { await connection.QuitAsync(ct).ConfigureAwait(false); } catch (Exception ex) when (ex is IOException or SmtpClientException) { }
            if (policy is null) return (new HostFailure(EnhancedStatus.SecurityNotSupported, $"TLS is required, but was not offered by host {where}", Tls: true, host, ip, TlsRefused: true,
                Result: TlsResultType.StartTlsNotSupported), connection, null);
            var notOffered = new MtaStsDeliveryFailure(TlsResultType.StartTlsNotSupported, $"{where} does not offer STARTTLS, which {policy} requires");
            CountEnforced(notOffered);
            return (new HostFailure(EnhancedStatus.SecurityNotSupported, $"TLS is required by {policy}, but was not offered by host {where}", Tls: true, host, ip,
                MtaSts: notOffered, ByMtaSts: true, TlsRefused: true), connection, null);
        }
        string? verdict = null;
        PkixVerdict? pkix = null;
        // Set when the certificate check said no: a definite refusal, unlike a handshake that broke off.
        bool certificateRejected = false;
        try
        {
            using var tlsTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            tlsTimeout.CancelAfter(ConnectTimeout);
            var tlsOptions = requirement.ClientOptions(host, domain, _time, v => verdict = v, trust,
                audit is null && policy is null ? null : v => { pkix = v; audit?.Invoke(v); });
            if (tlsOptions.RemoteCertificateValidationCallback is { } check)
            {
                tlsOptions.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
                {
                    if (check(sender, certificate, chain, errors)) return true;
                    certificateRejected = true;
                    return false;
                };
            }
            await connection.StartTlsAsync(tlsOptions, requirement.Verification, tlsTimeout.Token).ConfigureAwait(false);
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
                HostTlsMode.MtaSts when verdict is not null => $"Server certificate of {where} not verified for {policy}: {verdict}",
                HostTlsMode.MtaSts => $"TLS handshake with {where} failed: TLS 1.2 or newer with secure ciphers (ECDHE, AES-GCM or ChaCha20-Poly1305), which {policy} requires, could not be negotiated ({Innermost(ex)})",
                _ when requirement.StrictProfile => $"TLS handshake with {where} failed: TLS 1.2 or newer with secure ciphers (ECDHE, AES-GCM or ChaCha20-Poly1305) could not be negotiated ({Innermost(ex)})",
                _ => $"TLS handshake with {where} failed: {Innermost(ex)}",
            };
            // RFC 8460 §4.3: DANE's certificate check said no: no TLSA record matched; anything else broke the handshake.
            var result = requirement.Mode == HostTlsMode.Dane && certificateRejected ? TlsResultType.TlsaInvalid : TlsResultType.ValidationFailure;
            if (policy is null) return (new HostFailure(EnhancedStatus.CryptographicFailure, why, Tls: true, host, ip, TlsRefused: certificateRejected, Result: result), connection, null);
            var stsFailure = pkix is { Valid: false } bad ? new MtaStsDeliveryFailure(MtaStsFailureTypes.Of(bad), $"certificate of {where}: {bad.Detail}")
                : new MtaStsDeliveryFailure(TlsResultType.ValidationFailure, $"TLS handshake with {where} failed: {failure.Reason}");
            CountEnforced(stsFailure);
            return (new HostFailure(EnhancedStatus.CryptographicFailure, why, Tls: true, host, ip, MtaSts: stsFailure, ByMtaSts: true, TlsRefused: certificateRejected), connection, null);
        }
    }
}
