using MimeKit;

namespace SecureMx.Dkim;

/// <summary>
/// The header fields a signature covers (RFC 6376 §5.4.1: those that carry the message's meaning; never
/// Received or Return-Path, which change in transit). Each present field is listed once per occurrence, so
/// every copy is signed (§5.4.2: bottom-up). From, To, Subject and Date are listed once more than they occur
/// ("over-signing", §8.15): the extra name stands for a field that is not there, so a copy added later —
/// a second From: above the signed one, which many readers would show — breaks the signature.
/// </summary>
public static class DkimHeaderList
{
    public static readonly IReadOnlyList<string> Signed =
    [
        "From", "Sender", "Reply-To", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To", "References",
        "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "Content-ID", "Content-Description", "Content-Disposition",
        "Content-Language", "List-Id", "List-Help", "List-Unsubscribe", "List-Unsubscribe-Post", "List-Subscribe", "List-Post",
        "List-Owner", "List-Archive", "Resent-Date", "Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Message-ID",
        "Autocrypt", "OpenPGP",
    ];

    public static readonly IReadOnlySet<string> OverSigned = new HashSet<string>(["From", "To", "Subject", "Date"], StringComparer.OrdinalIgnoreCase);

    /// <summary>The h= list for <paramref name="message"/>, in lower case.</summary>
    public static List<string> For(MimeMessage message)
    {
        var list = new List<string>();
        foreach (var name in Signed)
        {
            // MimeKit keeps the top-level Content-* fields with the body, and signs them from there.
            var headers = name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase) ? message.Body?.Headers : message.Headers;
            int count = headers?.Count(h => h.Field.Equals(name, StringComparison.OrdinalIgnoreCase)) ?? 0;
            if (OverSigned.Contains(name)) count++;
            for (int i = 0; i < count; i++) list.Add(name.ToLowerInvariant());
        }
        return list;
    }
}
