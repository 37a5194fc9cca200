using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Store;
using SecureMx.Telemetry;

namespace SecureMx.Auth;

/// <summary>The result of one login attempt.</summary>
public enum LoginResult { Success, Failed, Blocked }

/// <summary>
/// Checks a submission login (account name and password) against the mailbox store.
/// An unknown name and a wrong password cost the same: the unknown name is checked against a
/// hash of the same kind, and both wait <see cref="AuthOptions.FailureDelay"/> before failing.
/// Failed and blocked logins are logged with the client address; passwords never are.
/// A store that cannot be reached (the password hashes, a shared throttle) makes <see cref="LoginAsync"/>
/// throw before any password is accepted: the caller answers with a temporary error (fail-closed,
/// <see cref="StoreLoginThrottle"/>); the external-login check refuses.
/// </summary>
public sealed class AccountAuthenticator
{
    private readonly MailboxRepository _mailboxes;
    private readonly ILoginThrottle _throttle;
    private readonly TimeProvider _time;
    private readonly TimeSpan _failureDelay;
    private readonly ILogger _log;
    private readonly string _dummyHash = PasswordHash.Create(Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(18)));

    // A hash takes a core for a tenth of a second or more: never more of them at once than there are cores.
    private readonly SemaphoreSlim _hashSlots = new(Environment.ProcessorCount, Environment.ProcessorCount);

    /// <param name="sharedStore">The store several nodes share, where the login throttle counts (<see cref="StoreLoginThrottle"/>); null: in memory.</param>
    public AccountAuthenticator(MailboxRepository mailboxes, AuthOptions options, TimeProvider time, ILogger log, StoreDatabase? sharedStore = null)
    {
        _mailboxes = mailboxes;
        _time = time;
        _log = log;
        _failureDelay = Duration.Parse(options.FailureDelay, "auth.failureDelay");
        var window = Duration.Parse(options.FailureWindow, "auth.failureWindow");
        _throttle = sharedStore is null
            ? new LoginThrottle(time, window, options.MaxFailuresPerIp, options.MaxFailuresPerAccount)
            : new StoreLoginThrottle(sharedStore, time, window, options.MaxFailuresPerIp, options.MaxFailuresPerAccount);
    }

    /// <summary>The account name as the store keys mailboxes (lower-case local part, A-label domain), or null if it is no address.</summary>
    public static string? Normalize(string name) =>
        SmtpAddressParser.TryParseMailbox(name.Trim(), allowUtf8: true, out var a) == SmtpAddressParser.Error.None && !a.IsAddressLiteral ? a.LookupKey : null;

    /// <summary>Verifies one login; on success <paramref name="account"/> is the mailbox address.</summary>
    /// <param name="countFailure">False when the same credentials already failed in this session (a client trying its next mechanism).</param>
    public async Task<(LoginResult Result, string? Account)> LoginAsync(string name, string password, string clientIp, string mechanism, CancellationToken ct, bool countFailure = true)
    {
        var account = Normalize(name);
        var throttleKey = ThrottleKey(name);
        if (!Admits(clientIp, throttleKey, name, $"AUTH {mechanism}"))
        {
            CountFailure(ServiceOf(mechanism), "blocked");
            return (LoginResult.Blocked, null);
        }

        var stored = account is null ? null : _mailboxes.FindPasswordHash(account);
        PasswordCheck check;
        await _hashSlots.WaitAsync(ct);
        try
        {
            // Argon2id takes tens of milliseconds of CPU and memory: on the thread pool, never on the socket
            // thread the AUTH command arrived on (Hosting/InlineSocketCompletions), where it would hold every
            // session that thread serves.
            check = await Task.Run(() => PasswordHash.Check(password, stored ?? _dummyHash), ct);
        }
        finally
        {
            _hashSlots.Release();
        }
        if (stored is null) check = PasswordCheck.Wrong;

        if (check == PasswordCheck.Wrong)
        {
            if (countFailure) _throttle.RecordFailure(clientIp, throttleKey);
            CountFailure(ServiceOf(mechanism), "failed");
            // The reason is for the administrator; the client hears the same reply either way.
            _log.LogWarning("AUTH {Mechanism} from {Ip} for {User} failed: {Reason}", mechanism, clientIp, Printable(name),
                stored is null ? "no such mailbox" : "wrong password");
            await Task.Delay(_failureDelay, _time, ct);
            return (LoginResult.Failed, null);
        }

        _throttle.RecordSuccess(clientIp, account!);
        if (check == PasswordCheck.CorrectButOutdated)
        {
            try
            {
                _mailboxes.UpgradePasswordHash(account!, PasswordHash.Create(password));
                _log.LogInformation("password hash of {Account} upgraded to the current format", account);
            }
            catch (Exception ex) when (ex is StoreException or System.Data.Common.DbException)
            {
                _log.LogWarning("could not upgrade the password hash of {Account}: {Error}", account, ex.Message);
            }
        }
        return (LoginResult.Success, account);
    }

    /// <summary>
    /// Before another server (Dovecot's IMAP and POP3, through its authentication policy requests)
    /// checks a password itself: whether this login may be tried at all, by the same counters that
    /// throttle submission and dashboard logins.
    /// </summary>
    public bool AllowsExternalLogin(string name, string clientIp, string protocol)
    {
        try
        {
            if (Admits(clientIp, ThrottleKey(name), name, $"{protocol} login")) return true;
        }
        catch (Exception ex) when (StoreUnavailable.Is(ex))
        {
            // Fail-closed (StoreLoginThrottle): no count, no login.
            _log.LogWarning("{Protocol} login from {Ip} for {User} refused: the login throttle's store cannot be reached: {Error}", protocol, clientIp, Printable(name), ex.Message);
            CountFailure(ExternalService(protocol), "blocked");
            return false;
        }
        CountFailure(ExternalService(protocol), "blocked");
        return false;
    }

    /// <summary>The <c>service</c> tag of <see cref="SecureMxMetrics.LoginFailures"/>: the dashboard's logins name themselves "dashboard…", SMTP AUTH its mechanism.</summary>
    private static string ServiceOf(string mechanism) => mechanism.StartsWith("dashboard", StringComparison.Ordinal) ? "dashboard" : "smtp";

    /// <summary>Dovecot's protocol name as a tag from a fixed set (the name comes in a request: no unbounded series).</summary>
    private static string ExternalService(string protocol) => protocol.ToLowerInvariant() switch
    {
        "imap" => "imap",
        "pop3" => "pop3",
        _ => "other",
    };

    private static void CountFailure(string service, string result) =>
        SecureMxMetrics.LoginFailures.Add(1, new("service", service), new("result", result));

    /// <summary>The throttle's verdict before any password is looked at; a refusal is logged as "WHAT from IP for USER refused: reason".</summary>
    private bool Admits(string clientIp, string throttleKey, string name, string what)
    {
        var verdict = _throttle.Check(clientIp, throttleKey);
        if (verdict == LoginThrottle.Verdict.Allowed) return true;
        _log.LogWarning("{What} from {Ip} for {User} refused: {Reason}", what, clientIp, Printable(name),
            verdict == LoginThrottle.Verdict.IpBlocked ? "too many failed logins from this address" : "too many failed logins for this account");
        return false;
    }

    /// <summary>Counts the outcome of a login another server checked (see <see cref="AllowsExternalLogin"/>).</summary>
    public void RecordExternalLogin(string name, string clientIp, string protocol, bool success)
    {
        var key = ThrottleKey(name);
        try
        {
            if (success) _throttle.RecordSuccess(clientIp, key);
            else _throttle.RecordFailure(clientIp, key);
        }
        catch (Exception ex) when (StoreUnavailable.Is(ex))
        {
            // The store went away between Dovecot's two requests: this outcome is not counted (the next check refuses).
            _log.LogWarning("{Protocol} login from {Ip} for {User}: the outcome could not be counted: {Error}", protocol, clientIp, Printable(name), ex.Message);
        }
        if (success)
        {
            _log.LogInformation("{Protocol} login from {Ip} as {User}", protocol, clientIp, Printable(name));
            return;
        }
        CountFailure(ExternalService(protocol), "failed");
        _log.LogWarning("{Protocol} login from {Ip} for {User} failed", protocol, clientIp, Printable(name));
    }

    private static string ThrottleKey(string name) => Normalize(name) ?? name.Trim().ToLowerInvariant();

    /// <summary>What a client typed as its name, safe for a log line.</summary>
    private static string Printable(string name)
    {
        var cut = name.Length > 100 ? name[..100] + "…" : name;
        return string.Concat(cut.Select(c => char.IsControl(c) ? '?' : c));
    }
}
