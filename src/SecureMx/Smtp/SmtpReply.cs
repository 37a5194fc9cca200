using System.Text;

namespace SecureMx.Smtp;

/// <summary>
/// One SMTP reply (RFC 5321 §4.2) with its enhanced status code (RFC 3463, RFC 2034).
/// The greeting and the EHLO/HELO replies carry no enhanced code (RFC 2034 §3); every other reply does.
/// </summary>
public sealed record SmtpReply(int Code, string? Enhanced, IReadOnlyList<string> Lines)
{
    public SmtpReply(int code, string? enhanced, string text) : this(code, enhanced, new[] { text }) { }

    public bool IsPositive => Code is >= 200 and < 400;
    public bool IsPermanent => Code >= 500;
    public string Text => string.Join(" ", Lines);

    public void WriteTo(IBufferWriterAdapter writer)
    {
        for (int i = 0; i < Lines.Count; i++)
        {
            var sep = i == Lines.Count - 1 ? ' ' : '-';
            var prefix = Enhanced is null ? "" : Enhanced + " ";
            writer.WriteAscii($"{Code}{sep}{prefix}{Lines[i]}\r\n");
        }
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(Code).Append(' ');
        if (Enhanced is not null) sb.Append(Enhanced).Append(' ');
        sb.Append(Text);
        return sb.ToString();
    }

    // Replies used in more than one place. Texts follow Postfix where administrators know them.
    public static readonly SmtpReply Ok = new(250, "2.0.0", "OK");
    public static readonly SmtpReply SenderOk = new(250, "2.1.0", "Sender OK");
    public static readonly SmtpReply RecipientOk = new(250, "2.1.5", "Recipient OK");
    public static readonly SmtpReply StartData = new(354, null, "End data with <CR><LF>.<CR><LF>");
    public static readonly SmtpReply Bye = new(221, "2.0.0", "Bye");
    public static readonly SmtpReply BadSequenceEhloFirst = new(503, "5.5.1", "Error: send HELO/EHLO first");
    public static readonly SmtpReply BadSequenceNestedMail = new(503, "5.5.1", "Error: nested MAIL command");
    public static readonly SmtpReply BadSequenceNeedMail = new(503, "5.5.1", "Error: need MAIL command");
    public static readonly SmtpReply BadSequenceNeedRcpt = new(503, "5.5.1", "Error: need RCPT command");
    public static readonly SmtpReply NoValidRecipients = new(554, "5.5.1", "Error: no valid recipients");
    public static readonly SmtpReply CommandUnrecognized = new(500, "5.5.2", "Error: command not recognized");
    public static readonly SmtpReply LineTooLong = new(500, "5.5.6", "Error: command line too long");
    public static readonly SmtpReply BareLfInCommand = new(500, "5.5.2", "Error: bare <LF> or <CR> in command line; lines end with <CR><LF> (RFC 5321 2.3.8)");
    public static readonly SmtpReply TooManyErrors = new(421, "4.7.0", "Error: too many errors, closing connection");
    public static readonly SmtpReply IdleTimeout = new(421, "4.4.2", "Error: timeout exceeded, closing connection");
    public static readonly SmtpReply ShuttingDown = new(421, "4.3.2", "Service shutting down, closing connection");
    public static readonly SmtpReply TooManyConnections = new(421, "4.7.0", "Error: too many connections, try again later");
    public static readonly SmtpReply TooManyConnectionsFromIp = new(421, "4.7.0", "Error: too many connections from your address, try again later");
    public static readonly SmtpReply MessageTooBig = new(552, "5.3.4", "Error: message exceeds fixed maximum message size");
    public static readonly SmtpReply TooManyRecipients = new(452, "4.5.3", "Error: too many recipients");
    public static readonly SmtpReply BareCrLfInData = new(554, "5.6.0", "Error: message contains a bare <CR> or <LF>; lines must end with <CR><LF> (RFC 5321 2.3.8); message not accepted");
    public static readonly SmtpReply LocalError = new(451, "4.3.0", "Error: local error while storing the message, try again later");
    public static readonly SmtpReply NoTlsAvailable = new(454, "4.7.0", "TLS not available due to temporary reason");
    public static readonly SmtpReply ReadyForTls = new(220, "2.0.0", "Ready to start TLS");
    public static readonly SmtpReply AuthNotAvailable = new(503, "5.5.1", "Error: authentication not enabled on this port");
    public static readonly SmtpReply MustStartTls = new(530, "5.7.0", "Must issue a STARTTLS command first");
    public static readonly SmtpReply AuthenticationRequired = new(530, "5.7.0", "Authentication required");
    public static readonly SmtpReply AuthSucceeded = new(235, "2.7.0", "Authentication successful");
    // RFC 4954 §6: the same reply for an unknown account and a wrong password.
    public static readonly SmtpReply AuthFailed = new(535, "5.7.8", "Error: authentication failed");
    public static readonly SmtpReply AuthBlocked = new(454, "4.7.0", "Error: too many failed logins, try again later");
    public static readonly SmtpReply AuthAborted = new(501, "5.0.0", "Authentication aborted");
    public static readonly SmtpReply AuthBadBase64 = new(501, "5.5.2", "Error: cannot decode the response (base64 expected)");
    public static readonly SmtpReply AuthUnknownMechanism = new(504, "5.5.4", "Error: unsupported authentication mechanism (PLAIN and LOGIN are)");
    public static readonly SmtpReply AuthAlready = new(503, "5.5.1", "Error: already authenticated");
    public static readonly SmtpReply VrfyCannot = new(252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery");
    public static readonly SmtpReply ExpnDisabled = new(502, "5.5.1", "EXPN command not available");
    public static readonly SmtpReply Help = new(214, "2.0.0", "See RFC 5321; commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY STARTTLS AUTH");
    public static readonly SmtpReply BadSyntax = new(501, "5.5.4", "Error: syntax error in parameters or arguments");
    public static readonly SmtpReply AlreadyTls = new(503, "5.5.1", "Error: TLS already active");
}

/// <summary>Minimal writer used by replies (keeps SmtpReply independent of the transport).</summary>
public interface IBufferWriterAdapter
{
    void WriteAscii(string text);
}
