using System.Text;

namespace SecureMx.Mail;

/// <summary>
/// One SMTP reply (RFC 5321 §4.2) with its enhanced status code (RFC 3463, RFC 2034).
/// The greeting and the EHLO/HELO replies carry no enhanced code (RFC 2034 §3); every other reply does.
/// </summary>
public sealed record SmtpReply(int Code, EnhancedStatus? Enhanced, IReadOnlyList<string> Lines)
{
    public SmtpReply(int code, EnhancedStatus? enhanced, string text) : this(code, enhanced, new[] { text }) { }

    /// <summary>The enhanced code; its class must be the reply code's first digit (RFC 3463 §2, RFC 2034 §4).</summary>
    public EnhancedStatus? Enhanced { get; } = Enhanced is { } e && e.Class != Code / 100
        ? throw new ArgumentException($"enhanced status {e} does not match reply code {Code}", nameof(Enhanced))
        : Enhanced;

    public bool IsPositive => Code is >= 200 and < 400;
    public bool IsPermanent => Code >= 500;
    public string Text => string.Join(" ", Lines);

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(Code).Append(' ');
        if (Enhanced is not null) sb.Append(Enhanced).Append(' ');
        sb.Append(Text);
        return sb.ToString();
    }

    // Replies used in more than one place. Texts follow Postfix where administrators know them.
    public static readonly SmtpReply Ok = new(250, EnhancedStatus.Ok, "OK");
    public static readonly SmtpReply SenderOk = new(250, EnhancedStatus.SenderValid, "Sender OK");
    public static readonly SmtpReply RecipientOk = new(250, EnhancedStatus.DestinationValid, "Recipient OK");
    public static readonly SmtpReply StartData = new(354, null, "End data with <CR><LF>.<CR><LF>");
    public static readonly SmtpReply Bye = new(221, EnhancedStatus.Ok, "Bye");
    public static readonly SmtpReply BadSequenceEhloFirst = new(503, EnhancedStatus.InvalidCommand, "Error: send HELO/EHLO first");
    public static readonly SmtpReply BadSequenceNestedMail = new(503, EnhancedStatus.InvalidCommand, "Error: nested MAIL command");
    public static readonly SmtpReply BadSequenceNeedMail = new(503, EnhancedStatus.InvalidCommand, "Error: need MAIL command");
    public static readonly SmtpReply BadSequenceNeedRcpt = new(503, EnhancedStatus.InvalidCommand, "Error: need RCPT command");
    public static readonly SmtpReply NoValidRecipients = new(554, EnhancedStatus.InvalidCommand, "Error: no valid recipients");
    public static readonly SmtpReply CommandUnrecognized = new(500, EnhancedStatus.SyntaxError, "Error: command not recognized");
    public static readonly SmtpReply LineTooLong = new(500, EnhancedStatus.LineTooLong, "Error: command line too long");
    // A bare LF or CR does not end a command line: the whole line up to the real CRLF is refused (RFC 5321 2.3.8).
    public static readonly SmtpReply BareLfInCommand = new(500, EnhancedStatus.SyntaxError, "Error: bare <LF> in command line; only <CR><LF> ends a line (RFC 5321 2.3.8), the whole line is refused");
    public static readonly SmtpReply BareCrInCommand = new(500, EnhancedStatus.SyntaxError, "Error: bare <CR> in command line; only <CR><LF> ends a line (RFC 5321 2.3.8), the whole line is refused");
    public static readonly SmtpReply NulInCommand = new(500, EnhancedStatus.SyntaxError, "Error: NUL character in command line");
    // A client that ends its lines with LF alone (nothing came after the LF): told why, then let go, since
    // going on would let its timing decide where a line ends (Postfix's smtpd_forbid_bare_newline = reject).
    public static readonly SmtpReply BareLfUnterminated = new(500, EnhancedStatus.SyntaxError, "Error: bare <LF> received; lines must end with <CR><LF>");
    public static readonly SmtpReply ClosingForBareLf = new(421, EnhancedStatus.SecurityTransient, "Error: lines must end with <CR><LF>, closing connection");
    // RFC 5321 §3.8: a server that closes the channel says 421 first.
    public static readonly SmtpReply ClosingAfterRefusedBdat = new(421, EnhancedStatus.SecurityTransient, "Error: BDAT command refused, its chunk cannot be told from commands, closing connection");
    public static readonly SmtpReply TooManyBareLineEndings = new(421, EnhancedStatus.SecurityTransient, "Error: too many bare <CR>, <LF> or NUL characters, closing connection");
    public static readonly SmtpReply TooManyErrors = new(421, EnhancedStatus.SecurityTransient, "Error: too many errors, closing connection");
    public static readonly SmtpReply IdleTimeout = new(421, EnhancedStatus.BadConnection, "Error: timeout exceeded, closing connection");
    public static readonly SmtpReply ShuttingDown = new(421, EnhancedStatus.NotAcceptingMessages, "Service shutting down, closing connection");
    public static readonly SmtpReply TooManyConnections = new(421, EnhancedStatus.SecurityTransient, "Error: too many connections, try again later");
    public static readonly SmtpReply TooManyConnectionsFromIp = new(421, EnhancedStatus.SecurityTransient, "Error: too many connections from your address, try again later");
    public static readonly SmtpReply MessageTooBig = new(552, EnhancedStatus.MessageTooBig, "Error: message exceeds fixed maximum message size");
    public static readonly SmtpReply TooManyRecipients = new(452, EnhancedStatus.TooManyRecipients, "Error: too many recipients");
    public static readonly SmtpReply BareCrLfInData = new(554, EnhancedStatus.ContentError, "Error: message contains a bare <CR> or <LF>; lines must end with <CR><LF> (RFC 5321 2.3.8); message not accepted");
    public static readonly SmtpReply LocalError = new(451, EnhancedStatus.LocalError, "Error: local error while storing the message, try again later");
    /// <summary>An address the server could not look up (its store is unreachable): temporary, never a refusal the store would not have given.</summary>
    /// <summary>A submitted message whose DKIM keys cannot be used now (Dkim/SubmissionSigner): tempfail, as OpenDKIM's On-InternalError default.</summary>
    public static readonly SmtpReply SigningFailed = new(451, EnhancedStatus.LocalError, "Error: the message cannot be DKIM-signed now, try again later");
    public static readonly SmtpReply AddressLookupFailed = new(451, EnhancedStatus.LocalError, "Error: the address cannot be checked now, try again later");
    /// <summary>A login whose password or throttle could not be read (the store is unreachable): RFC 4954 §6, temporary, never 535.</summary>
    public static readonly SmtpReply AuthUnavailable = new(454, EnhancedStatus.SecurityTransient, "Error: temporary authentication failure, try again later");
    public static readonly SmtpReply InsufficientStorage = new(452, EnhancedStatus.InsufficientStorage, "Error: insufficient system storage, try again later");
    public static readonly SmtpReply NoTlsAvailable = new(454, EnhancedStatus.SecurityTransient, "TLS not available due to temporary reason");
    public static readonly SmtpReply ReadyForTls = new(220, EnhancedStatus.Ok, "Ready to start TLS");
    public static readonly SmtpReply AuthNotAvailable = new(503, EnhancedStatus.InvalidCommand, "Error: authentication not enabled on this port");
    public static readonly SmtpReply MustStartTls = new(530, EnhancedStatus.SecurityRequired, "Must issue a STARTTLS command first");
    /// <summary>MAIL FROM … REQUIRETLS in a session without TLS (RFC 8689 §4.1: the option only travels over TLS).</summary>
    public static readonly SmtpReply RequireTlsWithoutTls = new(530, EnhancedStatus.EncryptionNeeded, "Error: REQUIRETLS needs a TLS session, issue STARTTLS first");
    public static readonly SmtpReply AuthenticationRequired = new(530, EnhancedStatus.SecurityRequired, "Authentication required");
    public static readonly SmtpReply AuthSucceeded = new(235, EnhancedStatus.SecurityOk, "Authentication successful");
    // RFC 4954 §6: the same reply for an unknown account and a wrong password.
    public static readonly SmtpReply AuthFailed = new(535, EnhancedStatus.CredentialsInvalid, "Error: authentication failed");
    public static readonly SmtpReply AuthBlocked = new(454, EnhancedStatus.SecurityTransient, "Error: too many failed logins, try again later");
    public static readonly SmtpReply AuthAborted = new(501, EnhancedStatus.PermanentFailure, "Authentication aborted");
    public static readonly SmtpReply AuthBadBase64 = new(501, EnhancedStatus.SyntaxError, "Error: cannot decode the response (base64 expected)");
    public static readonly SmtpReply AuthUnknownMechanism = new(504, EnhancedStatus.InvalidArguments, "Error: unsupported authentication mechanism (PLAIN and LOGIN are)");
    public static readonly SmtpReply AuthAlready = new(503, EnhancedStatus.InvalidCommand, "Error: already authenticated");
    public static readonly SmtpReply VrfyCannot = new(252, EnhancedStatus.CannotVerify, "Cannot VRFY user, but will accept message and attempt delivery");
    public static readonly SmtpReply ExpnDisabled = new(502, EnhancedStatus.InvalidCommand, "EXPN command not available");
    public static readonly SmtpReply Help = new(214, EnhancedStatus.Ok, "See RFC 5321; commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY STARTTLS AUTH");
    public static readonly SmtpReply BadSyntax = new(501, EnhancedStatus.InvalidArguments, "Error: syntax error in parameters or arguments");
    public static readonly SmtpReply AlreadyTls = new(503, EnhancedStatus.InvalidCommand, "Error: TLS already active");
}
