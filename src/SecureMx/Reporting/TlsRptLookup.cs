using SecureMx.Dns;

namespace SecureMx.Reporting;

/// <summary>What the "_smtp._tls" TXT lookup of a recipient domain found (RFC 8460 §3).</summary>
public enum TlsRptLookupKind
{
    /// <summary>Exactly one valid "v=TLSRPTv1" record: <see cref="TlsRptLookup.Record"/> (which may still have no usable URI).</summary>
    Record,

    /// <summary>No record, or records that do not make one valid record (<see cref="TlsRptLookup.Reason"/>): the domain does not want reports.</summary>
    NoRecord,

    /// <summary>The lookup failed (SERVFAIL, timeout): nothing is known, try again later.</summary>
    TemporaryFailure,
}

/// <summary>The answer of <see cref="Find"/>: the record, or why there is none.</summary>
public sealed record TlsRptLookup(TlsRptLookupKind Kind, TlsRptRecord? Record = null, string? Reason = null)
{
    /// <summary>
    /// Looks up the TLSRPT record of <paramref name="domain"/> through the validating resolver (the one
    /// resolver SecureMx uses; RFC 8460 does not require DNSSEC for the record).
    /// </summary>
    public static async Task<TlsRptLookup> Find(IMailDnsResolver dns, string domain, CancellationToken ct)
    {
        var name = TlsRptRecord.OwnerName(domain);
        var txt = await dns.ResolveTxtAsync(name, ct).ConfigureAwait(false);
        switch (txt.Kind)
        {
            case TxtResolutionKind.TemporaryFailure:
                return new(TlsRptLookupKind.TemporaryFailure, Reason: $"TXT lookup of {name} failed: {txt.FailureReason}");
            case TxtResolutionKind.None:
                return new(TlsRptLookupKind.NoRecord);
        }
        var (record, error) = TlsRptRecord.Select(txt.Records);
        if (record is not null) return new(TlsRptLookupKind.Record, record);
        return new(TlsRptLookupKind.NoRecord, Reason: error is null ? null : $"TXT {name}: {error}");
    }
}
