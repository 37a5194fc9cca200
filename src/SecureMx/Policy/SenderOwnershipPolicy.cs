using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Store;

namespace SecureMx.Policy;

/// <summary>
/// Which addresses an authenticated account may send as: its own mailbox address, a subaddress of
/// it (alice+news@), and every alias that delivers to it (sales@ when sales → alice). Everything else
/// is somebody else's name and gets 553 5.7.1 — in MAIL FROM as in the author headers.
/// </summary>
public sealed class SenderOwnershipPolicy(MailboxRepository mailboxes, DeliveryOptions options)
{
    public bool MayUse(string account, EnvelopeAddress address)
    {
        if (address.IsAddressLiteral) return false;
        var key = address.LookupKey;
        if (mailboxes.AddressBelongsTo(key, account)) return true;
        return Subaddress.Base(key, options.RecipientDelimiter) is { } untagged && mailboxes.AddressBelongsTo(untagged, account);
    }

    /// <summary>MAIL FROM of an authenticated session: null when allowed. The null sender is allowed (MDNs, RFC 8098 §2.1).</summary>
    public SmtpReply? CheckEnvelopeSender(string account, EnvelopeAddress sender) =>
        sender.IsNull || MayUse(account, sender) ? null
        : new SmtpReply(553, EnhancedStatus.NotAuthorized, $"<{sender}>: Sender address rejected: not owned by user {account}");

    /// <summary>Every author and sender named in the message's header must be the account as well.</summary>
    public SmtpReply? CheckAuthors(string account, AuthorAddresses authors)
    {
        if (authors.Problem is { } problem) return new SmtpReply(550, EnhancedStatus.ContentError, "Error: " + problem);
        foreach (var (header, text) in authors.Addresses)
        {
            if (SmtpAddressParser.TryParseMailbox(text, allowUtf8: true, out var address) != SmtpAddressParser.Error.None || !MayUse(account, address))
            {
                return new SmtpReply(553, EnhancedStatus.NotAuthorized, $"Error: {header}: address <{text}> not owned by user {account}");
            }
        }
        return null;
    }
}
