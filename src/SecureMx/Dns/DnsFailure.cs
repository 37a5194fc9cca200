using SecureMx.Mail;

namespace SecureMx.Dns;

/// <summary>
/// What a DNS outcome means for delivery: permanent (bounce now) or temporary (defer and retry),
/// with the enhanced status code (RFC 3463, RFC 7505 §4.3 for X.1.10) and a human-readable text for
/// the DSN's Diagnostic-Code and the delivery log. <see cref="ToString"/> gives "5.1.2 text".
/// </summary>
/// <param name="Code">SMTP-style reply code for logs: 556 for a null MX (RFC 7505 §4.2), 550 for other permanent failures, 451 for temporary ones.</param>
/// <param name="Enhanced">RFC 3463 status, e.g. 5.1.10, 5.1.2, 4.4.3.</param>
/// <param name="Text">What happened, naming the domain or host.</param>
public sealed record DnsFailure(int Code, EnhancedStatus Enhanced, string Text)
{
    /// <summary>True for a 5.x.x status: the recipient fails at once; false: it is deferred.</summary>
    public bool Permanent => Enhanced.IsPermanent;

    /// <summary>The same as an <see cref="SmtpReply"/> (for the delivery log and DSN code paths that expect a reply).</summary>
    public SmtpReply ToSmtpReply() => new(Code, Enhanced, Text);

    /// <summary>"ENHANCED TEXT", e.g. "5.1.2 domain nx.test does not exist".</summary>
    public override string ToString() => $"{Enhanced} {Text}";

    /// <summary>A temporary DNS failure (RFC 3463 X.4.3 "Directory server failure").</summary>
    public static DnsFailure Temporary(string text) => new(451, EnhancedStatus.DirectoryServerFailure, text);
}
