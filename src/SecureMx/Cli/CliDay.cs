using System.Globalization;
using SecureMx.Mail;

namespace SecureMx.Cli;

/// <summary>A <c>--day YYYY-MM-DD</c> argument (a UTC day) of the report commands.</summary>
internal static class CliDay
{
    /// <summary>00:00 UTC of the day <paramref name="text"/> names, or <paramref name="absent"/> when it is not given.</summary>
    public static DateTimeOffset Parse(string? text, DateTimeOffset absent)
    {
        if (text is null) return UtcDay.Of(absent);
        if (!DateTime.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
            throw new CliException($"--day: '{text}' is not a day (YYYY-MM-DD)");
        return new DateTimeOffset(d.Date, TimeSpan.Zero);
    }
}
