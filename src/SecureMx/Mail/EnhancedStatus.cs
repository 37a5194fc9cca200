using System.Globalization;

namespace SecureMx.Mail;

/// <summary>
/// An enhanced mail system status code (RFC 3463 §2): class "." subject "." detail, e.g. 5.1.1.
/// The class is 2 (success), 4 (persistent transient failure) or 5 (permanent failure); subject and
/// detail keep their meaning across classes (§2), which is what lets a TLS deferral (4.7.5) become
/// the bounce of the same cause (5.7.5) through <see cref="AsPermanent"/> instead of text surgery.
/// The named codes below are the ones SecureMx says, each with the section that defines it.
/// </summary>
public readonly record struct EnhancedStatus(int Class, int Subject, int Detail)
{
    // X.0.0 Other undefined status (RFC 3463 §3.1)
    public static readonly EnhancedStatus Ok = new(2, 0, 0);
    public static readonly EnhancedStatus TransientFailure = new(4, 0, 0);
    public static readonly EnhancedStatus PermanentFailure = new(5, 0, 0);

    // X.1 Addressing status (RFC 3463 §3.2)
    /// <summary>2.1.0: other address status, "sender OK".</summary>
    public static readonly EnhancedStatus SenderValid = new(2, 1, 0);
    /// <summary>5.1.1: bad destination mailbox address.</summary>
    public static readonly EnhancedStatus BadDestinationMailbox = new(5, 1, 1);
    /// <summary>5.1.2: bad destination system address (the domain does not exist).</summary>
    public static readonly EnhancedStatus BadDestinationSystem = new(5, 1, 2);
    /// <summary>5.1.3: bad destination mailbox address syntax.</summary>
    public static readonly EnhancedStatus BadDestinationSyntax = new(5, 1, 3);
    /// <summary>2.1.5: destination address valid.</summary>
    public static readonly EnhancedStatus DestinationValid = new(2, 1, 5);
    /// <summary>5.1.7: bad sender's mailbox address syntax.</summary>
    public static readonly EnhancedStatus BadSenderSyntax = new(5, 1, 7);
    /// <summary>5.1.10: recipient address has null MX (RFC 7505 §4.3).</summary>
    public static readonly EnhancedStatus NullMx = new(5, 1, 10);

    // X.2 Mailbox status (RFC 3463 §3.3)
    /// <summary>4.2.0: other or undefined mailbox status (a local delivery that could not be written).</summary>
    public static readonly EnhancedStatus MailboxUnavailable = new(4, 2, 0);

    // X.3 Mail system status (RFC 3463 §3.4)
    /// <summary>4.3.0: other or undefined mail system status (our own storage failed).</summary>
    public static readonly EnhancedStatus LocalError = new(4, 3, 0);
    /// <summary>4.3.1: mail system full (the spool's disk or quota is full).</summary>
    public static readonly EnhancedStatus InsufficientStorage = new(4, 3, 1);
    /// <summary>4.3.2: system not accepting network messages (shutting down).</summary>
    public static readonly EnhancedStatus NotAcceptingMessages = new(4, 3, 2);
    /// <summary>5.3.4: message too big for system.</summary>
    public static readonly EnhancedStatus MessageTooBig = new(5, 3, 4);

    // X.4 Network and routing status (RFC 3463 §3.5)
    /// <summary>4.4.1: no answer from host.</summary>
    public static readonly EnhancedStatus NoAnswerFromHost = new(4, 4, 1);
    /// <summary>4.4.2: bad connection (timed out, closed).</summary>
    public static readonly EnhancedStatus BadConnection = new(4, 4, 2);
    /// <summary>4.4.3: directory server failure (DNS SERVFAIL or timeout).</summary>
    public static readonly EnhancedStatus DirectoryServerFailure = new(4, 4, 3);
    /// <summary>5.4.4: unable to route (no address for the mail hosts).</summary>
    public static readonly EnhancedStatus UnableToRoute = new(5, 4, 4);
    /// <summary>5.4.7: delivery time expired.</summary>
    public static readonly EnhancedStatus DeliveryTimeExpired = new(5, 4, 7);

    // X.5 Mail delivery protocol status (RFC 3463 §3.6)
    /// <summary>4.5.0: other or undefined protocol status (a malformed reply from a server).</summary>
    public static readonly EnhancedStatus ProtocolError = new(4, 5, 0);
    /// <summary>5.5.1: invalid command (out of sequence).</summary>
    public static readonly EnhancedStatus InvalidCommand = new(5, 5, 1);
    /// <summary>5.5.2: syntax error (unrecognised command, bad encoding).</summary>
    public static readonly EnhancedStatus SyntaxError = new(5, 5, 2);
    /// <summary>2.5.2: VRFY answered without confirming or denying (Postfix's choice of code).</summary>
    public static readonly EnhancedStatus CannotVerify = new(2, 5, 2);
    /// <summary>4.5.3: too many recipients.</summary>
    public static readonly EnhancedStatus TooManyRecipients = new(4, 5, 3);
    /// <summary>5.5.4: invalid command arguments.</summary>
    public static readonly EnhancedStatus InvalidArguments = new(5, 5, 4);
    /// <summary>5.5.6: line too long (RFC 4954 §6 names it for AUTH; used for every over-long line).</summary>
    public static readonly EnhancedStatus LineTooLong = new(5, 5, 6);

    // X.6 Message content or media status (RFC 3463 §3.7)
    /// <summary>5.6.0: other or undefined media error (bare CR/LF, an unreadable header).</summary>
    public static readonly EnhancedStatus ContentError = new(5, 6, 0);
    /// <summary>5.6.7: non-ASCII addresses not permitted for that sender or recipient (RFC 6531 §3.7.4.2).</summary>
    public static readonly EnhancedStatus NonAsciiAddress = new(5, 6, 7);

    // X.7 Security or policy status (RFC 3463 §3.8)
    /// <summary>2.7.0: other security status, success (AUTH succeeded, RFC 4954 §6).</summary>
    public static readonly EnhancedStatus SecurityOk = new(2, 7, 0);
    /// <summary>4.7.0: other or undefined security status, transient (limits, TLS temporarily unavailable).</summary>
    public static readonly EnhancedStatus SecurityTransient = new(4, 7, 0);
    /// <summary>5.7.0: other or undefined security status, permanent (STARTTLS or AUTH required first).</summary>
    public static readonly EnhancedStatus SecurityRequired = new(5, 7, 0);
    /// <summary>5.7.1: delivery not authorized, message refused (relay, mandatory TLS, not the sender's address).</summary>
    public static readonly EnhancedStatus NotAuthorized = new(5, 7, 1);
    /// <summary>4.7.4: security features not supported (TLS required, not offered).</summary>
    public static readonly EnhancedStatus SecurityNotSupported = new(4, 7, 4);
    /// <summary>4.7.5: cryptographic failure (TLS handshake, DANE or PKIX verification, TLSA lookup).</summary>
    public static readonly EnhancedStatus CryptographicFailure = new(4, 7, 5);
    /// <summary>5.7.8: authentication credentials invalid (RFC 4954 §6).</summary>
    public static readonly EnhancedStatus CredentialsInvalid = new(5, 7, 8);
    /// <summary>5.7.10: encryption needed (IANA enhanced status codes): REQUIRETLS asked for outside TLS (RFC 8689 §4.1).</summary>
    public static readonly EnhancedStatus EncryptionNeeded = new(5, 7, 10);
    /// <summary>5.7.30: REQUIRETLS support required (RFC 8689 §5): no MX host of the destination meets what a REQUIRETLS message needs.</summary>
    public static readonly EnhancedStatus RequireTlsNeeded = new(5, 7, 30);

    public bool IsSuccess => Class == 2;
    public bool IsTransient => Class == 4;
    public bool IsPermanent => Class == 5;

    /// <summary>The same subject and detail as a permanent failure (RFC 3463 §2): 4.7.5 becomes 5.7.5.</summary>
    public EnhancedStatus AsPermanent() => this with { Class = 5 };

    /// <summary>The generic code of a class when a server sent none: 2.0.0, 4.0.0 or 5.0.0.</summary>
    public static EnhancedStatus Generic(int replyCode) =>
        replyCode >= 500 ? PermanentFailure : replyCode >= 400 ? TransientFailure : Ok;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Class}.{Subject}.{Detail}");

    /// <summary>
    /// Parses "class.subject.detail" exactly (RFC 3463 §2: class 2, 4 or 5; subject and detail of
    /// one to three digits without leading zeros). Nothing around it, no other separators.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> text, out EnhancedStatus status)
    {
        status = default;
        Span<Range> parts = stackalloc Range[4];
        if (text.Split(parts, '.') != 3) return false;
        var c = text[parts[0]];
        if (c.Length != 1 || c[0] is not ('2' or '4' or '5')) return false;
        if (!TryNumber(text[parts[1]], out var subject) || !TryNumber(text[parts[2]], out var detail)) return false;
        status = new EnhancedStatus(c[0] - '0', subject, detail);
        return true;
    }

    public static EnhancedStatus Parse(string text) =>
        TryParse(text, out var s) ? s : throw new FormatException($"'{text}' is not an enhanced status code (RFC 3463)");

    private static bool TryNumber(ReadOnlySpan<char> s, out int value)
    {
        value = 0;
        if (s.Length is < 1 or > 3 || (s.Length > 1 && s[0] == '0')) return false;
        foreach (var ch in s)
        {
            if (!char.IsAsciiDigit(ch)) return false;
            value = value * 10 + (ch - '0');
        }
        return true;
    }
}
