using SecureMx.Mail;

namespace SecureMx.Policy;

/// <summary>The verdict on one RCPT TO: the final recipients it stands for, or the refusal.</summary>
/// <param name="Refusal">Why a recipient was refused, for the metrics: relay, mandatory_tls, unknown_recipient or tls_report_size.</param>
public sealed record RcptDecision(SmtpReply Reply, IReadOnlyList<EnvelopeRecipient> Recipients, string? Refusal = null)
{
    public bool Accepted => Reply.IsPositive;
}

/// <summary>
/// Is this recipient ours? Accepts only hosted mailboxes, aliases, subaddresses of those, and
/// postmaster of hosted domains (RFC 5321 §4.5.1), as <see cref="RecipientRouter"/> routes them.
/// Everything else on port 25 is relay and refused.
/// Address tricks cannot turn into relay: the domain compared is the one after the last "@",
/// percent hacks and bang paths stay inside the local part (and match no mailbox), source routes
/// are dropped by the parser, address literals are never hosted, and trailing dots fail the syntax.
/// Only a logged-in submission client may name other domains; address literals are never relayed.
/// </summary>
public sealed class InboundRecipientPolicy(RecipientRouter router)
{
    /// <param name="mayRelay">The client logged in (submission): a recipient on any other domain is queued for remote delivery.</param>
    /// <param name="tls">The session's TLS: a domain with mandatory inbound TLS takes mail only in a secure TLS session (on every listener).</param>
    /// <param name="declaredSize">MAIL FROM's SIZE=: a TLS report larger than tlsReporting.maxReportBytes is refused here.</param>
    public RcptDecision Evaluate(EnvelopeAddress rcpt, bool isBarePostmaster, RcptParameters parameters, string originalText, bool mayRelay = false, NegotiatedTls? tls = null,
        long? declaredSize = null)
    {
        var route = isBarePostmaster ? router.BarePostmaster() : router.Route(rcpt);
        if (route.Kind == RecipientKind.TlsReport && declaredSize > router.MaxReportBytes)
        {
            // RFC 1870 §6.1: 552 for a SIZE= this recipient does not take; the reporter is told at once, nothing is queued.
            return new RcptDecision(new SmtpReply(552, EnhancedStatus.MessageTooBig,
                $"<{rcpt}>: TLS reports larger than {router.MaxReportBytes} bytes are not accepted"), [], "tls_report_size");
        }
        if (route.Kind == RecipientKind.NotHosted)
        {
            if (!mayRelay || rcpt.IsAddressLiteral) return new RcptDecision(new SmtpReply(554, EnhancedStatus.NotAuthorized, $"<{rcpt}>: Relay access denied"), [], "relay");
            var remote = new EnvelopeRecipient(rcpt.ToString(), originalText, RecipientRoute.Remote, null, parameters.Notify, parameters.OrcptType, parameters.Orcpt);
            return new RcptDecision(new SmtpReply(250, EnhancedStatus.DestinationValid, $"<{rcpt}>: Recipient OK"), [remote]);
        }
        // The same reply whether or not the mailbox exists: an insecure session learns nothing about addresses.
        if (route.InboundTlsMandatory && tls?.IsStrict != true)
        {
            var had = tls is null ? "this session is not encrypted. Use STARTTLS"
                : $"this session uses {tls.Protocol} with {tls.CipherSuite}. Use TLS 1.2 or newer with ECDHE and AES-GCM or ChaCha20-Poly1305";
            return new RcptDecision(new SmtpReply(550, EnhancedStatus.NotAuthorized,
                $"<{rcpt}>: {rcpt.Domain} accepts mail only over TLS 1.2 or newer with secure ciphers; {had}"), [], "mandatory_tls");
        }
        if (route.Kind == RecipientKind.UnknownUser)
        {
            return new RcptDecision(new SmtpReply(550, EnhancedStatus.BadDestinationMailbox, $"<{rcpt}>: Recipient address rejected: user unknown"), [], "unknown_recipient");
        }
        var list = route.Targets
            .DistinctBy(t => t.Address)
            .Select(t => new EnvelopeRecipient(t.Address, originalText, RecipientRoute.Local, t.Maildir, parameters.Notify, parameters.OrcptType, parameters.Orcpt))
            .ToList();
        return new RcptDecision(new SmtpReply(250, EnhancedStatus.DestinationValid, $"<{rcpt}>: Recipient OK"), list);
    }
}
