using SecureMx.Mail;
using SecureMx.Policy;

namespace SecureMx.Reporting;

/// <summary>The recipients generated mail to one address gets, and the routing they came from.</summary>
public sealed record GeneratedMailRoute(IReadOnlyList<EnvelopeRecipient> Recipients, RecipientRouting Routing);
