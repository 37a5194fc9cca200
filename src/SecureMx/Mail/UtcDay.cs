namespace SecureMx.Mail;

/// <summary>The UTC day the daily reports are made of (TLS reports, RFC 8460 §4.1; the refused-mail digest), by its 00:00 UTC.</summary>
public static class UtcDay
{
    /// <summary>00:00 UTC of the day <paramref name="at"/> falls in.</summary>
    public static DateTimeOffset Of(DateTimeOffset at) => new(at.UtcDateTime.Date, TimeSpan.Zero);
}
