using Microsoft.Extensions.Logging;
using SecureMx.Mail;
using SecureMx.MtaSts;
using SecureMx.Telemetry;
using SecureMx.Tls;

namespace SecureMx.Delivery.Remote;

/// <summary>
/// A recipient domain's MTA-STS policy as one delivery of the domain applies it (RFC 8461 §4, §5).
/// <c>enforce</c>: only MX hosts the policy lists, each only over strict TLS with a PKIX-valid
/// certificate for its name (<see cref="HostTlsRequirement.MtaStsEnforce"/>), else the host is skipped
/// with a reason naming the policy. <c>testing</c>: delivery as without MTA-STS, but what enforce would
/// have refused is logged, counted and written to the delivery log. A host with a DNSSEC-secure usable
/// TLSA RRset is DANE's alone (RFC 8461 §2: DANE takes precedence; its MX RRset is DNSSEC-secure too,
/// which is the assurance the policy's mx list stands in for, so the list is not checked for it either).
/// </summary>
public sealed class MtaStsDelivery
{
    private readonly ILogger _logger;
    private readonly string _messageId;

    private MtaStsDelivery(string domain, MtaStsLookup lookup, ILogger logger, string messageId)
    {
        Domain = domain;
        Lookup = lookup;
        _logger = logger;
        _messageId = messageId;
    }

    public string Domain { get; }
    public MtaStsLookup Lookup { get; }
    public MtaStsMode Mode => Lookup.Mode;

    /// <summary>"the MTA-STS policy of example.com (enforce, id 20240101)": how every reason names it.</summary>
    public string Name => $"the MTA-STS policy of {Domain} ({Mode.Name()}, id {Lookup.PolicyId ?? "?"})";

    /// <summary>
    /// The policy to apply to a delivery of <paramref name="domain"/>, or null when there is none to
    /// apply: no policy, mode none, or a policy announced but not to be had — then delivery goes on as
    /// without MTA-STS (RFC 8461 §5) and <paramref name="unavailable"/> says why (logged and counted
    /// here; the caller writes it to the delivery log). <paramref name="unreadable"/>: the store's policy
    /// cache could not be read either (a cached enforce policy may exist), so the caller defers; a source
    /// that throws is not caught, and the caller defers too: never sent under a guessed policy.
    /// </summary>
    public static async Task<(MtaStsDelivery? Policy, MtaStsDeliveryFailure? Unavailable, string? Unreadable)> LookupAsync(IMtaStsPolicySource source, string domain,
        ILogger logger, string messageId, CancellationToken ct)
    {
        var lookup = await source.GetAsync(domain, ct).ConfigureAwait(false);
        switch (lookup.Kind)
        {
            case MtaStsLookupKind.Unavailable when lookup.CacheUnreadable:
                return (null, null, $"the MTA-STS policy cache cannot be read and no policy could be fetched ({lookup.Failure ?? "no reason given"})");
            case MtaStsLookupKind.Unavailable:
                var type = lookup.FailureType ?? TlsResultType.PolicyFetchError;
                // The source's text begins with the result type, which the failure names first anyway: said once.
                var reason = lookup.Failure ?? "no reason given";
                if (reason.StartsWith(type.Name() + ": ", StringComparison.Ordinal)) reason = reason[(type.Name().Length + 2)..];
                var failure = new MtaStsDeliveryFailure(type,
                    $"the MTA-STS policy of {domain} could not be fetched ({reason}); delivering as without MTA-STS (RFC 8461 §5)");
                logger.LogWarning("{Id}: {Domain}: {Failure}", messageId, domain, failure);
                SecureMxMetrics.MtaStsFailures.Add(1, new KeyValuePair<string, object?>("mode", "none"), new KeyValuePair<string, object?>("result", failure.ResultType.Name()));
                return (null, failure, null);
            case MtaStsLookupKind.Policy when lookup.Policy is not null && lookup.Mode != MtaStsMode.None:
                if (lookup.Failure is not null)
                    logger.LogInformation("{Id}: {Domain}: MTA-STS policy id {PolicyId} from the cache (its refresh failed: {Failure})", messageId, domain, lookup.PolicyId, lookup.Failure);
                return (new MtaStsDelivery(domain, lookup, logger, messageId), null, null);
            default:
                return (null, null, null);
        }
    }

    /// <summary>
    /// What the policy makes of one MX host, given what the level and the host's TLSA records ask
    /// (<paramref name="requirement"/>). Enforce: <see cref="HostTlsRequirement.MtaStsEnforce"/>, or the
    /// reason the host is skipped (not listed). Testing: the requirement unchanged and
    /// <c>Audit</c> set (the session is judged after the handshake), with the would-be failure when the
    /// host is not listed. A DANE host: unchanged, nothing to judge.
    /// </summary>
    public (HostTlsRequirement? Requirement, MtaStsDeliveryFailure? Refused, MtaStsDeliveryFailure? WouldFail, bool Audit) ForHost(string host, HostTlsRequirement requirement)
    {
        // RFC 8461 §2: DANE's host; HostTlsRequirement's DANE mode is MtaStsEnforceRule's DANE verdict.
        if (requirement.Mode == HostTlsMode.Dane) return (requirement, null, null, false);
        var notListed = MtaStsEnforceRule.OfHost(Lookup.Policy!.AllowsMx(host)) == MtaStsHostFault.None ? null
            : new MtaStsDeliveryFailure(TlsResultType.ValidationFailure, $"{host} is not listed in {Name}");
        if (Mode == MtaStsMode.Enforce)
        {
            if (notListed is not null)
            {
                Count(notListed);
                _logger.LogInformation("{Id}: {Host}: {Reason}", _messageId, host, notListed.Detail);
                return (null, notListed, null, false);
            }
            return (HostTlsRequirement.MtaStsEnforce with { MtaStsPolicy = Name }, null, null, false);
        }
        return (requirement, null, notListed, true);
    }

    /// <summary>
    /// Testing: what enforce would have said of a session with <paramref name="where"/> that went ahead
    /// (RFC 8461 §5): no TLS, TLS below the strict profile, or a certificate that is not PKIX-valid for
    /// the MX name; <paramref name="known"/> (not listed) first. Null when enforce would have delivered too.
    /// </summary>
    public MtaStsDeliveryFailure? Judge(string where, MtaStsDeliveryFailure? known, NegotiatedTls? tls, PkixVerdict? pkix) =>
        known ?? MtaStsEnforceRule.OfSession(tls, pkix) switch
        {
            MtaStsHostFault.NoTls => new MtaStsDeliveryFailure(TlsResultType.StartTlsNotSupported, $"{where} gave no TLS session, which {Name} requires"),
            MtaStsHostFault.CertificateNotValid => new MtaStsDeliveryFailure(MtaStsFailureTypes.Of(pkix!.Value), $"certificate of {where} not valid for {Name}: {pkix.Value.Detail}"),
            MtaStsHostFault.CertificateNotChecked => new MtaStsDeliveryFailure(TlsResultType.ValidationFailure, $"{where}: the certificate was not checked, which {Name} requires"),
            MtaStsHostFault.BelowStrictTls => new MtaStsDeliveryFailure(TlsResultType.ValidationFailure, $"{where}: {tls!.Protocol} {tls.CipherSuite} is below the strict TLS profile that {Name} requires"),
            _ => null,
        };

    /// <summary>Testing: logs and counts a would-be failure (enforce failures are logged where the host is skipped).</summary>
    public void Report(MtaStsDeliveryFailure failure)
    {
        Count(failure);
        _logger.LogWarning("{Id}: MTA-STS testing: {Domain}: would fail under enforce: {Failure}", _messageId, Domain, failure);
    }

    public void Count(MtaStsDeliveryFailure failure) => SecureMxMetrics.MtaStsFailures.Add(1,
        new KeyValuePair<string, object?>("mode", Mode.Name()), new KeyValuePair<string, object?>("result", failure.ResultType.Name()));
}
