using System.Net;
using System.Text.RegularExpressions;
using SecureMx.Mail;

namespace SecureMx.Spool;

/// <summary>
/// Reads the last-error text that queue schemas before version 3 kept instead of a structured
/// outcome, once, while the queue database is migrated. This is the only code that recognises a
/// cause by its text; everything else reads the columns it fills. The forms are the ones older
/// versions wrote:
/// <list type="bullet">
/// <item>"4.2.0 local delivery failed: …" (a Maildir write failed);</item>
/// <item>"ENH HOST[IP] said: CODE TEXT" (a remote server's reply);</item>
/// <item>"4.7.4 …" or "4.7.5 …" ending in " (TLS level LEVEL (from ORIGIN))" (a TLS wait);</item>
/// <item>"5.4.7 delivery time expired after …; last error: …" and "5.7.x mandatory TLS … could not be
/// met within …; last error: …" (expiry);</item>
/// <item>"ENH TEXT" with our own DNS (4.4.3, 5.1.2, 5.1.10, 5.4.4), connection (4.4.1) and server
/// capability (5.6.7, 5.3.4) codes.</item>
/// </list>
/// </summary>
internal static partial class LegacyOutcomeText
{
    private const string TlsLevelMarker = " (TLS level ";
    private const string LastErrorMarker = "; last error: ";

    [GeneratedRegex(@"^\S+ (?<host>[^\s\[\]]+)\[(?<ip>[^\]]*)\] said: (?<code>[2-5][0-9][0-9])\b", RegexOptions.CultureInvariant)]
    private static partial Regex RemoteReply();

    [GeneratedRegex(@"(?<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)\[(?<ip>[0-9A-Fa-f:.]+)\]", RegexOptions.CultureInvariant)]
    private static partial Regex HostAndAddress();

    /// <summary>The structured outcome an old row's text stands for.</summary>
    public static DeliveryOutcome Parse(RecipientState state, RecipientRoute route, string text)
    {
        var first = text.Split(' ', 2)[0];
        var status = EnhancedStatus.TryParse(first, out var parsed) ? parsed
            : EnhancedStatus.Generic(state == RecipientState.Failed ? 550 : state == RecipientState.Delivered ? 250 : 451);

        if (TlsWait(text) is { } required)
        {
            var (host, address) = FirstHost(text);
            return new DeliveryOutcome(state, OutcomeReason.TlsRequirement, status, text, 451, required, host, address);
        }
        var lastError = text.IndexOf(LastErrorMarker, StringComparison.Ordinal);
        if (lastError > 0 && status.IsPermanent && (status == EnhancedStatus.DeliveryTimeExpired || status.Subject == 7))
        {
            var cause = text[(lastError + LastErrorMarker.Length)..];
            var (host, address) = FirstHost(cause);
            return new DeliveryOutcome(state, OutcomeReason.Expired, status, text, 554, TlsWait(cause), host, address);
        }
        if (RemoteReply().Match(text) is { Success: true } reply)
        {
            return new DeliveryOutcome(state, OutcomeReason.RemoteReply, status, text, int.Parse(reply.Groups["code"].Value, System.Globalization.CultureInfo.InvariantCulture),
                null, reply.Groups["host"].Value, IPAddress.TryParse(reply.Groups["ip"].Value, out var ip) ? ip : null);
        }
        if (route == RecipientRoute.Local || status == EnhancedStatus.MailboxUnavailable)
        {
            return new DeliveryOutcome(state, OutcomeReason.Local, status, text, status.IsPermanent ? 550 : 451);
        }
        var (reason, code) = (status.Subject, status.Detail) switch
        {
            (4, 3) or (1, 2) or (4, 4) => (OutcomeReason.Dns, status.IsPermanent ? 550 : 451),
            (1, 10) => (OutcomeReason.Dns, 556),
            (6, 7) => (OutcomeReason.ServerCapability, 553),
            (3, 4) => (OutcomeReason.ServerCapability, 552),
            _ => (OutcomeReason.Connection, status.IsPermanent ? 550 : 451),
        };
        return new DeliveryOutcome(state, reason, status, text, code);
    }

    /// <summary>The requirement of "4.7.4 … (TLS level encrypt (from sender account a@b))"; null when the text is not a TLS wait.</summary>
    private static RequiredTls? TlsWait(string text)
    {
        if (!(text.StartsWith("4.7.4 ", StringComparison.Ordinal) || text.StartsWith("4.7.5 ", StringComparison.Ordinal))
            || !text.EndsWith("))", StringComparison.Ordinal))
        {
            return null;
        }
        var marker = text.LastIndexOf(TlsLevelMarker, StringComparison.Ordinal);
        if (marker < 0) return null;
        var policy = text[(marker + TlsLevelMarker.Length)..^1]; // "encrypt (from sender account a@b)"
        var from = policy.IndexOf(" (from ", StringComparison.Ordinal);
        if (from < 0 || !OutboundTlsLevels.TryParse(policy[..from], out var level)) return null;
        var origin = policy[(from + " (from ".Length)..];
        var source = !level.RequiresTls() ? TlsRequirementSource.DaneRecords
            : origin.StartsWith("sender ", StringComparison.Ordinal) ? TlsRequirementSource.Sender
            : TlsRequirementSource.Operator;
        return new RequiredTls(level, source);
    }

    private static (string? Host, IPAddress? Address) FirstHost(string text) =>
        HostAndAddress().Match(text) is { Success: true } m && IPAddress.TryParse(m.Groups["ip"].Value, out var ip)
            ? (m.Groups["host"].Value, ip)
            : (null, null);
}
