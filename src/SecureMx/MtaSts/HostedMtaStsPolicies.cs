using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Store;

namespace SecureMx.MtaSts;

/// <summary>What the MTA-STS listener serves for a name: a policy, nothing (not hosted), or "try later".</summary>
/// <param name="Policy">The policy to serve; null when the domain is not hosted or the store cannot say.</param>
/// <param name="StoreFailure">Why the store could not answer (then <paramref name="Policy"/> is the last one served, or null).</param>
public sealed record HostedMtaStsAnswer(HostedMtaStsPolicy? Policy, string? StoreFailure = null);

/// <summary>
/// The policies of the hosted domains as the listener serves them. The domain's mode and inbound
/// setting are read from the store at every request (senders fetch a policy rarely, once per max_age
/// or id change), never from a node's directory snapshot: a switch made on one node is served by every
/// node at its next request. While the store cannot answer, the policy this process served last for
/// the domain is served again (it was true moments ago; a sender that gets nothing keeps its cached
/// policy anyway, RFC 8461 §5.1); without one the listener answers 503. The memory holds one policy per
/// hosted domain that was asked for, no more.
/// </summary>
public sealed class HostedMtaStsPolicies(TlsPolicyRepository policies, SecureMxOptions options, ILogger log)
{
    private readonly ConcurrentDictionary<string, HostedMtaStsPolicy> _lastServed = new(StringComparer.Ordinal);
    private int _storeFailing;

    /// <param name="domain">The hosted domain (lower case, A-labels), the policy host's name without "mta-sts.".</param>
    public HostedMtaStsAnswer Get(string domain)
    {
        (InboundTlsSetting Inbound, string MtaStsMode)? row;
        try
        {
            row = policies.DomainMtaSts(domain);
        }
        catch (Exception ex) when (StoreUnavailable.Is(ex))
        {
            if (Interlocked.Exchange(ref _storeFailing, 1) == 0)
                log.LogWarning("MTA-STS: the store cannot be read ({Error}); policies served before are served again, others get 503", ex.Message);
            return new HostedMtaStsAnswer(_lastServed.GetValueOrDefault(domain), ex.Message);
        }
        if (Interlocked.Exchange(ref _storeFailing, 0) == 1) log.LogInformation("MTA-STS: the store answers again");
        if (row is not { } r)
        {
            _lastServed.TryRemove(domain, out _);
            return new HostedMtaStsAnswer(null);
        }
        var policy = For(domain, r.Inbound, r.MtaStsMode, options);
        _lastServed[domain] = policy;
        return new HostedMtaStsAnswer(policy);
    }

    /// <summary>The policy for a stored mode word; a word no version wrote counts as none (the lenient setting).</summary>
    public static HostedMtaStsPolicy For(string domain, InboundTlsSetting inbound, string storedMode, SecureMxOptions options) =>
        HostedMtaStsPolicy.For(domain, ParseMode(storedMode), inbound == InboundTlsSetting.Mandatory, options);

    public static MtaStsMode ParseMode(string stored) => MtaStsModes.TryParse(stored, out var mode) ? mode : MtaStsMode.None;
}
