using SecureMx.Tls;

namespace SecureMx.Smtp;

/// <summary>
/// One listener's personality. <see cref="RequireTls"/>: nothing but EHLO, STARTTLS, NOOP, RSET and
/// QUIT before TLS (530 5.7.0). <see cref="ImplicitTls"/>: TLS from the first byte (RFC 8314).
/// <see cref="Submission"/>: clients log in (AUTH after TLS only), must do so before MAIL, may send
/// only as themselves, and may send to any domain (RFC 6409). <see cref="Hostname"/>: the name in the
/// greeting and EHLO reply when not the instance's.
/// </summary>
public sealed record ListenerSettings(string Name, TlsProfile TlsProfile, bool RequireTls = false, bool ImplicitTls = false, bool Submission = false, string? Hostname = null)
{
    public static ListenerSettings Mx(TlsProfile profile) => new("mx", profile);

    /// <summary>The secure MX (docs/ARCHITECTURE.md, "The promise"): strict TLS before anything else, under its own host name.</summary>
    public static ListenerSettings SecureMx(string hostname) => new("secureMx", TlsProfile.Strict, RequireTls: true, Hostname: hostname);

    public static ListenerSettings SubmissionStartTls => new("submission", TlsProfile.Strict, RequireTls: true, Submission: true);

    public static ListenerSettings SubmissionImplicitTls => new("submissions", TlsProfile.Strict, RequireTls: true, ImplicitTls: true, Submission: true);
}
