namespace SecureMx.Reporting;

/// <summary>What became of one domain's report of one day.</summary>
public enum TlsReportSendOutcome
{
    /// <summary>Spooled (mailto:) or posted (https:) to at least one of the domain's URIs: never sent again.</summary>
    Sent,

    /// <summary>Sent before, or claimed just now by another node: nothing done.</summary>
    AlreadyClaimed,

    /// <summary>The domain publishes no TLSRPT record (or one without a usable URI): no report, no claim.</summary>
    NotRequested,

    /// <summary>No URI took it, or the record could not be looked up: tried again by a later run.</summary>
    Failed,
}

/// <summary>The outcome for one domain, with what was done in words (the CLI prints it, report_sends keeps it).</summary>
public sealed record TlsReportSendResult(string Domain, DateTimeOffset Day, TlsReportSendOutcome Outcome, string Detail)
{
    public override string ToString() => $"{Domain} {Day.UtcDateTime:yyyy-MM-dd}: {Outcome switch
    {
        TlsReportSendOutcome.Sent => "sent",
        TlsReportSendOutcome.AlreadyClaimed => "already sent (or being sent by another node)",
        TlsReportSendOutcome.NotRequested => "no report wanted",
        _ => "not sent",
    }}{(Detail.Length > 0 ? " — " + Detail : "")}";
}
