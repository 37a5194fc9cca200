namespace SecureMx.Store;

/// <summary>
/// A delivery log search for the dashboard. <see cref="Accounts"/> and <see cref="SenderDomains"/>
/// are the scope (both null: every row; else a row is in scope when its account or its sender is one
/// of <see cref="Accounts"/>, or its sender's domain is one of <see cref="SenderDomains"/>). The other
/// fields narrow further; null means no filter.
/// </summary>
public sealed record DeliveryLogQuery
{
    public IReadOnlyList<string>? Accounts { get; init; }

    public IReadOnlyList<string>? SenderDomains { get; init; }

    /// <summary>Rows of this account: submitted by it, or with it as the envelope sender.</summary>
    public string? Account { get; init; }

    /// <summary>Rows whose envelope sender is in this domain.</summary>
    public string? SenderDomain { get; init; }

    /// <summary>A whole address (exact) or a domain (every recipient in it).</summary>
    public string? Recipient { get; init; }

    /// <summary>none, encrypted, dane, verified or local.</summary>
    public string? Verification { get; init; }

    /// <summary>delivered, deferred or failed.</summary>
    public string? Result { get; init; }

    public DateTimeOffset? Since { get; init; }

    public int Limit { get; init; } = 200;
}
