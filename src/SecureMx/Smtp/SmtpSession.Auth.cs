using System.Text;
using Microsoft.Extensions.Logging;
using SecureMx.Auth;
using SecureMx.Mail;

namespace SecureMx.Smtp;

/// <summary>
/// AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN, on submission listeners and only inside TLS.
/// SCRAM is not offered: it needs keys derived at password-setting time that the
/// Identity password hash does not keep; inside TLS 1.2+ PLAIN discloses nothing on the wire.
/// </summary>
public sealed partial class SmtpSession
{
    private static readonly string[] Mechanisms = ["PLAIN", "LOGIN"];

    // RFC 4954 §4: a response line may be up to 12 288 octets.
    private const int MaxAuthResponseLength = 12288;

    // Failed logins in one session before it is closed; the throttle counts across sessions.
    private const int MaxAuthFailuresPerSession = 3;

    private int _authFailures;

    // Credentials that already failed in this session. Clients such as MailKit retry the same
    // name and password with the next mechanism: that is one mistake, not two guesses.
    private HashSet<string>? _failedCredentials;

    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>One AUTH command with its challenges; returns the end reason when the session must end.</summary>
    private async Task<string?> AuthAsync(SmtpCommand cmd)
    {
        SmtpReply? refusal =
            NeedsTls ? SmtpReply.MustStartTls
            : !_listener.Submission ? SmtpReply.AuthNotAvailable
            : _helo is null || !_esmtp ? new SmtpReply(503, EnhancedStatus.InvalidCommand, "Error: send EHLO first")
            : _account is not null ? SmtpReply.AuthAlready
            : _tx is not null ? new SmtpReply(503, EnhancedStatus.InvalidCommand, "Error: AUTH not allowed during a mail transaction")
            : null;
        if (refusal is not null) return await ErrorAsync(refusal) ? null : "too many errors";

        var parts = cmd.Argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is 0 or > 2) return await ErrorAsync(new SmtpReply(501, EnhancedStatus.InvalidArguments, "Syntax: AUTH mechanism [initial-response]")) ? null : "too many errors";
        var mechanism = parts[0].ToUpperInvariant();
        var initial = parts.Length == 2 ? parts[1] : null;

        Credentials? credentials;
        switch (mechanism)
        {
            case "PLAIN":
            {
                var (data, problem, end) = initial is null ? await ChallengeAsync("") : (Decode(initial), null, null);
                if (end is not null) return end;
                if (problem is not null || data is null) return await ErrorAsync(problem ?? SmtpReply.AuthBadBase64) ? null : "too many errors";
                credentials = ParsePlain(data);
                break;
            }
            case "LOGIN":
            {
                // The initial response, when given, is the user name (as Outlook and others send it).
                var (user, problem, end) = initial is null ? await ChallengeAsync("VXNlcm5hbWU6") : (Decode(initial), null, null);
                if (end is not null) return end;
                if (problem is not null || user is null) return await ErrorAsync(problem ?? SmtpReply.AuthBadBase64) ? null : "too many errors";
                var (pass, problem2, end2) = await ChallengeAsync("UGFzc3dvcmQ6");
                if (end2 is not null) return end2;
                if (problem2 is not null || pass is null) return await ErrorAsync(problem2 ?? SmtpReply.AuthBadBase64) ? null : "too many errors";
                credentials = TryUtf8(user) is { } u && TryUtf8(pass) is { } p ? new Credentials(u, p) : null;
                break;
            }
            default:
                return await ErrorAsync(SmtpReply.AuthUnknownMechanism) ? null : "too many errors";
        }

        LoginResult result;
        string? account = null;
        if (credentials is null)
        {
            // Malformed PLAIN message, invalid UTF-8 or a different authorization identity: no password check at all.
            result = LoginResult.Failed;
            _log.LogWarning("AUTH {Mechanism} from {Ip}: malformed credentials", mechanism, ClientIp);
        }
        else
        {
            var fingerprint = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(credentials.User.Trim().ToLowerInvariant() + "\0" + credentials.Password)));
            bool repeated = _failedCredentials?.Contains(fingerprint) == true;
            try
            {
                (result, account) = await _ctx.Authenticator.LoginAsync(credentials.User, credentials.Password, ClientIp, mechanism, _abort, countFailure: !repeated);
            }
            catch (Exception ex) when (Store.StoreUnavailable.Is(ex))
            {
                // The password or the throttle could not be checked: a temporary failure (RFC 4954 §6), never 535,
                // and no failure counted (fail-closed: no login without the store).
                _log.LogWarning("session {Session} from {Ip}: AUTH {Mechanism} not decided, the store cannot be read: {Error}", _record.Id, ClientIp, mechanism, ex.Message);
                return await ErrorAsync(Refused(SmtpReply.AuthUnavailable, "store_unavailable")) ? null : "too many errors";
            }
            if (result == LoginResult.Failed)
            {
                if (repeated) return await ErrorAsync(SmtpReply.AuthFailed) ? null : "too many errors";
                (_failedCredentials ??= new()).Add(fingerprint);
            }
        }

        switch (result)
        {
            case LoginResult.Success:
                _account = account;
                _log.LogInformation("session {Session} from {Ip}: logged in as {Account} ({Mechanism})", _record.Id, ClientIp, account, mechanism);
                _transport.Write(SmtpReply.AuthSucceeded);
                return null;
            case LoginResult.Blocked:
                return await ErrorAsync(SmtpReply.AuthBlocked) ? null : "too many errors";
            default:
                _record.AuthFailures = ++_authFailures;
                if (_authFailures >= MaxAuthFailuresPerSession)
                {
                    _transport.Write(SmtpReply.AuthFailed);
                    await SendFinalAsync(new SmtpReply(421, EnhancedStatus.SecurityTransient, "Error: too many failed logins, closing connection"));
                    return "too many failed logins";
                }
                return await ErrorAsync(SmtpReply.AuthFailed) ? null : "too many errors";
        }
    }

    private sealed record Credentials(string User, string Password);

    /// <summary>Sends a 334 challenge and reads the client's base64 answer.</summary>
    private async Task<(byte[]? Data, SmtpReply? Problem, string? End)> ChallengeAsync(string challenge)
    {
        _transport.Write(new SmtpReply(334, null, challenge));
        LineStatus status;
        string line;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping)) // _abort comes after _stopping
        {
            timeout.CancelAfter(CommandTimeout);
            try
            {
                await _transport.WaitForInputAsync(timeout.Token);
                (status, line) = await _transport.ReadLineAsync(MaxAuthResponseLength, timeout.Token);
            }
            catch (OperationCanceledException) when (!_abort.IsCancellationRequested)
            {
                await SendFinalAsync(_stopping.IsCancellationRequested ? SmtpReply.ShuttingDown : SmtpReply.IdleTimeout);
                return (null, null, "timeout during AUTH");
            }
        }
        return status switch
        {
            LineStatus.Closed => (null, null, "client closed connection during AUTH"),
            LineStatus.TooLong => (null, new SmtpReply(500, EnhancedStatus.LineTooLong, "Error: authentication response too long"), null),
            LineStatus.Ok when line == "*" => (null, SmtpReply.AuthAborted, null),
            LineStatus.Ok => (Decode(line), null, null),
            LineStatus.BareLineEnding or LineStatus.Nul => await MalformedResponseAsync(status, line),
            LineStatus.BareLfUnterminated => (null, null, await CloseForUnterminatedBareLfAsync(AuthResponseReply(SmtpReply.BareLfUnterminated), "an AUTH response")),
            _ => (null, SmtpReply.AuthBadBase64, null),
        };
    }

    /// <summary>A response line with a bare CR or LF or a NUL: refused as a whole, and counted like a command line.</summary>
    private async Task<(byte[]? Data, SmtpReply? Problem, string? End)> MalformedResponseAsync(LineStatus status, string line)
    {
        var (lineReply, what) = MalformedLineReply(status, line);
        var reply = AuthResponseReply(lineReply);
        Telemetry.SecureMxMetrics.SmtpMalformedLines.Add(1);
        return await CountMalformedLineAsync(reply, what + " in an AUTH response") is { } end ? (null, null, end) : (null, reply, null);
    }

    /// <summary>A response that cannot be decoded is refused with 501 (RFC 4954 §4), whatever made it undecodable.</summary>
    private static SmtpReply AuthResponseReply(SmtpReply lineReply) => new(501, lineReply.Enhanced, lineReply.Lines);

    /// <summary>Base64 of a response; "=" is the empty response (RFC 4954 §4). Null when it is not base64.</summary>
    private static byte[]? Decode(string text)
    {
        if (text == "=") return [];
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string? TryUtf8(byte[] data)
    {
        try
        {
            return StrictUtf8.GetString(data);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }

    /// <summary>
    /// RFC 4616: [authzid] NUL authcid NUL passwd. An authorization identity other than the
    /// login itself would mean acting for somebody else, which nobody may here.
    /// </summary>
    private static Credentials? ParsePlain(byte[] data)
    {
        if (TryUtf8(data) is not { } text) return null;
        var fields = text.Split('\0');
        if (fields.Length != 3 || fields[1].Length == 0) return null;
        if (fields[0].Length > 0 && AccountAuthenticator.Normalize(fields[0]) != AccountAuthenticator.Normalize(fields[1])) return null;
        return new Credentials(fields[1], fields[2]);
    }
}
