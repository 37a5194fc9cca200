using System.Text.Json;
using SecureMx.Auth;

namespace SecureMx.Dovecot;

/// <summary>
/// Answers Dovecot's authentication policy requests (auth_policy_server_url) from the login throttle
/// SecureMx's own logins use, so a guesser gets the same number of tries over IMAP, POP3, submission
/// and the dashboard together, not that number on each. Dovecot asks <c>command=allow</c> before it
/// checks a password (status -1 refuses, 0 lets it proceed) and sends <c>command=report</c> with the
/// outcome afterwards. The request's fields are the ones the generated configuration asks for:
/// <c>login</c>, <c>remote</c>, <c>protocol</c>, <c>session</c>, <c>pwhash</c> (a truncated salted hash of
/// the password, never the password), and for a report <c>success</c> and <c>policy_reject</c>.
/// A client that tries its next SASL mechanism with the same name and password in the same session
/// is one failure, not several — as SMTP AUTH counts it.
/// </summary>
public sealed class DovecotAuthPolicy(AccountAuthenticator authenticator)
{
    // Failures already counted, by session, name and password hash: bounded, oldest dropped first.
    private const int RememberedFailures = 10_000;
    private readonly Lock _gate = new();
    private readonly HashSet<(string Session, string Login, string Password)> _counted = new();
    private readonly Queue<(string, string, string)> _order = new();

    public const string Refusal = "Too many failed logins; try again later";
    private const string Proceed = """{"status":0,"msg":""}""";

    /// <summary>The JSON answer to one request, or null when the request is not one Dovecot sends.</summary>
    public string? Answer(string? command, JsonElement request)
    {
        if (request.ValueKind != JsonValueKind.Object) return null;
        var login = Text(request, "login");
        var remote = Text(request, "remote");
        var protocol = Text(request, "protocol") is { Length: > 0 and <= 16 } p ? p.ToUpperInvariant() : "DOVECOT";
        if (login is null || remote is null) return null;
        switch (command)
        {
            case "allow":
                return authenticator.AllowsExternalLogin(login, remote, protocol)
                    ? Proceed
                    : JsonSerializer.Serialize(new { status = -1, msg = Refusal });
            case "report":
                // A login the policy refused was not tried: it says nothing about the password.
                if (Flag(request, "policy_reject")) return Proceed;
                var success = Flag(request, "success");
                if (success || FirstFailureOf((Text(request, "session") ?? "", login, Text(request, "pwhash") ?? "")))
                    authenticator.RecordExternalLogin(login, remote, protocol, success);
                return Proceed;
            default:
                return null;
        }
    }

    private bool FirstFailureOf((string Session, string Login, string Password) attempt)
    {
        if (attempt.Session.Length == 0) return true; // no session: nothing to recognise a retry by
        lock (_gate)
        {
            if (!_counted.Add(attempt)) return false;
            _order.Enqueue(attempt);
            if (_order.Count > RememberedFailures) _counted.Remove(_order.Dequeue());
            return true;
        }
    }

    private static string? Text(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: <= 512 } s ? s : null;

    private static bool Flag(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;
}
