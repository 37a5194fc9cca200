using System.Globalization;
using SecureMx.Config;
using SecureMx.Smtp;
using SecureMx.Tls;

namespace SecureMx.Tests.TestSupport;

/// <summary>
/// The server a dialogue talks to, as its "set" lines describe it (before the first step). Every
/// other setting is <see cref="SmtpTestServer"/>'s, except that a failed AUTH is answered at once
/// (the failure delay is timing, which dialogues do not test).
/// </summary>
public sealed class SmtpDialogueSettings
{
    /// <summary>The keys of "set KEY VALUE", for the parser's message.</summary>
    public const string Keys = "listener (mx, submission, submissions, secure-mx HOSTNAME), certificate none, max-message-size N, "
        + "max-command-line N, max-errors N, max-recipients N, auth-max-failures-per-account N, auth-max-failures-per-ip N, "
        + "mandatory-inbound-tls DOMAIN";

    private readonly List<Action<SecureMxOptions>> _options = [];
    private readonly List<string> _mandatoryInboundTls = [];

    public ListenerSettings Listener { get; private set; } = ListenerSettings.Mx(TlsProfile.Opportunistic);

    /// <summary>False after "set certificate none": the server has no certificate, so no STARTTLS.</summary>
    public bool WithCertificate { get; private set; } = true;

    /// <summary>Hosted domains whose inbound TLS is mandatory (set in the store before the first connection).</summary>
    public IReadOnlyList<string> MandatoryInboundTls => _mandatoryInboundTls;

    public void Configure(SecureMxOptions options)
    {
        options.Auth.FailureDelay = "0s";
        foreach (var set in _options) set(options);
    }

    /// <summary>Applies one "set" line; throws <see cref="FormatException"/> for an unknown key or a bad value.</summary>
    public void Set(string key, string[] values)
    {
        string One() => values.Length == 1 ? values[0] : throw new FormatException($"set {key} takes one value");
        int Number()
        {
            var text = One();
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0
                ? n : throw new FormatException($"set {key} needs a positive number, not '{text}'");
        }
        switch (key)
        {
            case "listener":
                Listener = values switch
                {
                    ["mx"] => ListenerSettings.Mx(TlsProfile.Opportunistic),
                    ["submission"] => ListenerSettings.SubmissionStartTls,
                    ["submissions"] => ListenerSettings.SubmissionImplicitTls,
                    ["secure-mx", var hostname] => ListenerSettings.SecureMx(hostname),
                    _ => throw new FormatException($"set listener mx|submission|submissions|secure-mx HOSTNAME, not '{string.Join(' ', values)}'"),
                };
                break;
            case "certificate":
                WithCertificate = One() == "none" ? false : throw new FormatException("set certificate none (the server has one otherwise)");
                break;
            case "max-message-size": { int n = Number(); _options.Add(o => o.Limits.MaxMessageSize = n); break; }
            case "max-command-line": { int n = Number(); _options.Add(o => o.Limits.MaxCommandLineLength = n); break; }
            case "max-errors": { int n = Number(); _options.Add(o => o.Limits.MaxErrors = n); break; }
            case "max-recipients": { int n = Number(); _options.Add(o => o.Limits.MaxRecipients = n); break; }
            case "auth-max-failures-per-account": { int n = Number(); _options.Add(o => o.Auth.MaxFailuresPerAccount = n); break; }
            case "auth-max-failures-per-ip": { int n = Number(); _options.Add(o => o.Auth.MaxFailuresPerIp = n); break; }
            case "mandatory-inbound-tls": _mandatoryInboundTls.Add(One()); break;
            default: throw new FormatException($"unknown setting '{key}' ({Keys})");
        }
    }
}
