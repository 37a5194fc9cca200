using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using SecureMx.Dns;
using SecureMx.MailAuth.Dkim;
using SecureMx.MailAuth.Dmarc;
using SecureMx.MailAuth.Spf;

namespace SecureMx.MailAuth;

/// <summary>
/// Authenticates a message received on the MX after its content is in the spool and before the 250:
/// SPF (MAIL FROM and HELO), DKIM and DMARC, all DNS through our resolver within one time budget
/// (<see cref="DefaultBudget"/>): when it runs out, what is still open becomes temperror — a result,
/// never a reason to refuse or lose the message. The content is read from a stream: MimeKit keeps the
/// headers in memory and hashes the body from the stream (persistent parsing), so a 50 MB message is not
/// held in memory.
/// <para>
/// A resolver that does not answer would cost every MX message the whole budget before its 250 (measured:
/// 12 s per message with nothing on the resolver's port), and so would cap what the MX takes at a few
/// messages a second. Once a budget has run out, the following messages get <see cref="DegradedBudget"/>
/// until one authentication finishes within its budget again; both changes are logged once.
/// </para>
/// </summary>
public sealed class InboundAuthenticator(IDnsRecordLookup dns, PublicSuffixList suffixes, TimeProvider time, TimeSpan? budget = null, ILogger? log = null)
{
    /// <summary>The whole authentication of one message, all lookups together.</summary>
    public static readonly TimeSpan DefaultBudget = TimeSpan.FromSeconds(12);

    /// <summary>The budget while the resolver is known not to answer (each such message still probes it).</summary>
    public static readonly TimeSpan DegradedBudget = TimeSpan.FromSeconds(1);

    private readonly ILogger _log = log ?? NullLogger.Instance;
    private int _degraded; // 1 while the last authentication ran out of its budget

    /// <summary>Whether the last authentication ran out of its budget (later ones get <see cref="DegradedBudget"/>).</summary>
    public bool Degraded => Volatile.Read(ref _degraded) == 1;

    private readonly SpfEvaluator _spf = new(dns, time);
    private readonly DkimMessageVerifier _dkim = new(dns, time);
    private readonly DmarcEvaluator _dmarc = new(dns, suffixes);

    public TimeSpan Budget { get; } = budget ?? DefaultBudget;

    /// <param name="client">The SMTP client's address.</param>
    /// <param name="helo">The EHLO/HELO name.</param>
    /// <param name="mailFrom">The reverse-path; empty for the null sender.</param>
    /// <param name="content">The message as received (it is read, not disposed).</param>
    /// <param name="authservId">Our host name, the authserv-id of the header field.</param>
    public async Task<InboundAuthentication> AuthenticateAsync(IPAddress client, string helo, string mailFrom, Stream content, string authservId, CancellationToken cancellationToken = default)
    {
        bool degraded = Degraded;
        using var deadline = new CancellationTokenSource(degraded && DegradedBudget < Budget ? DegradedBudget : Budget, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        var ct = linked.Token;

        // §2.3/§2.4: HELO is checked as postmaster@HELO; a null reverse-path is checked as that same identity.
        var heloTask = SpfEvaluator.IsValidDomain(helo)
            ? _spf.CheckHostAsync(client, helo, "postmaster@" + helo, helo, authservId, ct)
            : Task.FromResult(new SpfVerdict(SpfResult.None, null, "HELO is not a domain name"));
        var mailFromDomain = mailFrom.Length == 0 ? helo : mailFrom[(mailFrom.LastIndexOf('@') + 1)..];
        var mailFromTask = mailFrom.Length == 0
            ? heloTask
            : _spf.CheckHostAsync(client, mailFromDomain, mailFrom, helo, authservId, ct);

        MimeMessage? message = null;
        string? parseProblem = null;
        try
        {
            message = await MimeMessage.LoadAsync(new ParserOptions(), content, persistent: true, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FormatException or ParseException or IOException)
        {
            parseProblem = e.Message;
        }

        IReadOnlyList<DkimSignatureResult> dkim = [];
        int uncheckedSignatures = 0;
        IReadOnlyList<IReadOnlyList<string>> fromDomains = [];
        if (message is not null)
        {
            dkim = await _dkim.VerifyAsync(message, ct).ConfigureAwait(false);
            uncheckedSignatures = Math.Max(0, DkimMessageVerifier.CountSignatures(message) - dkim.Count);
            fromDomains = FromDomains(message);
        }
        var spf = await mailFromTask.ConfigureAwait(false);
        var heloSpf = await heloTask.ConfigureAwait(false);
        var dmarc = message is null
            ? new DmarcVerdict(DmarcResult.PermError, null, Problem: "the message cannot be parsed: " + parseProblem)
            : await _dmarc.EvaluateAsync(fromDomains, spf.Result, mailFromDomain, dkim, ct).ConfigureAwait(false);
        var header = AuthenticationResultsHeader.Build(authservId, mailFrom, helo, spf, dkim, dmarc);
        NoteOutcome(ranOut: deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested);
        return new InboundAuthentication(spf, heloSpf, dkim, uncheckedSignatures, dmarc, header);
    }

    private void NoteOutcome(bool ranOut)
    {
        if (Interlocked.Exchange(ref _degraded, ranOut ? 1 : 0) == (ranOut ? 1 : 0)) return;
        if (ranOut)
        {
            _log.LogWarning("inbound authentication: the DNS lookups of a message took the whole budget of {Budget} s (is the resolver down?); until one finishes in time, messages get {Degraded} s and temperror results",
                Budget.TotalSeconds, DegradedBudget.TotalSeconds);
        }
        else
        {
            _log.LogInformation("inbound authentication: DNS answers within the budget again");
        }
    }

    /// <summary>Per From: field, the distinct domains of its mailboxes (RFC 7489 §6.6.1 needs to see how many fields and domains there are).</summary>
    private static List<IReadOnlyList<string>> FromDomains(MimeMessage message)
    {
        var fields = new List<IReadOnlyList<string>>();
        foreach (var header in message.Headers.Where(h => h.Id == HeaderId.From))
        {
            if (!InternetAddressList.TryParse(ParserOptions.Default, header.RawValue, out var list))
            {
                fields.Add([]);
                continue;
            }
            fields.Add(list.Mailboxes.Select(m => m.Domain.TrimEnd('.').ToLowerInvariant()).Where(d => d.Length > 0).Distinct().ToList());
        }
        return fields;
    }
}
