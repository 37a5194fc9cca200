using System.Text;
using MimeKit;

namespace SecureMx.Policy;

/// <summary>
/// Who a message says wrote or sent it: every mailbox in From:, Sender:, Resent-From: and
/// Resent-Sender: (RFC 5322 §3.6.2, §3.6.6). All of them are checked, not only the newest resent
/// block: readers are shown From:, so a Resent-From of one's own must not carry somebody else's
/// From. Parsed with MimeKit from the header section captured while the message streamed in.
/// </summary>
public sealed record AuthorAddresses(IReadOnlyList<(string Header, string Address)> Addresses, string? Problem)
{
    private static readonly HeaderId[] AuthorFields = [HeaderId.From, HeaderId.Sender, HeaderId.ResentFrom, HeaderId.ResentSender];

    public static AuthorAddresses Parse(byte[] headerSection, bool complete)
    {
        if (!complete) return new([], "header section too large to check the author");
        HeaderList headers;
        try
        {
            headers = HeaderList.Load(new MemoryStream(headerSection, writable: false));
        }
        catch (FormatException)
        {
            return new([], "header section cannot be parsed");
        }
        if (!headers.Contains(HeaderId.From)) return new([], "message has no From: header");

        var addresses = new List<(string, string)>();
        foreach (var h in headers.Where(h => AuthorFields.Contains(h.Id)))
        {
            if (!InternetAddressList.TryParse(Encoding.UTF8.GetString(h.RawValue), out var list)) return new([], $"{h.Field}: header cannot be parsed");
            addresses.AddRange(list.Mailboxes.Select(m => (h.Field, m.Address)));
        }
        if (!addresses.Any(a => a.Item1.Equals("From", StringComparison.OrdinalIgnoreCase))) return new([], "From: header names no mailbox");
        return new(addresses, null);
    }
}
