using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using MimeKit;
using SecureMx.Config;
using SecureMx.Mail;

namespace SecureMx.Reporting;

/// <summary>
/// Reads the TLS reports other organisations send about the hosted domains (RFC 8460 §4.4, §5.3), by mail
/// or HTTPS POST. Hostile input is the norm: the input is read into memory only up to tlsReporting.maxReportBytes;
/// gzip is decompressed in a bounded loop (tlsReporting.maxReportJsonBytes and at most
/// <see cref="MaxExpansion"/>× the compressed size: a gzip bomb stops there) and must end with its trailer
/// (a truncated stream is refused); the JSON is parsed with a depth of at most <see cref="MaxDepth"/>; the
/// required fields of §4.4 are checked, numbers bounded, strings and lists length-limited. Anything else is a
/// <see cref="TlsReportRefusedException"/> with a short reason, never another exception.
/// </summary>
public sealed class TlsReportReader(TlsReportingOptions options)
{
    public const int MaxDepth = 16;
    public const int MaxExpansion = 200;
    public const int MaxPolicies = 100;
    public const int MaxFailureDetails = 1000;
    public const int MaxPolicyStrings = 100;
    public const int MaxNameLength = 255;
    public const int MaxTextLength = 1000;
    /// <summary>Session counts above this are not a day's traffic of any sender.</summary>
    public const long MaxSessionCount = 1_000_000_000_000;

    private static readonly ParserOptions Mime = new() { MaxMimeDepth = 8 };

    /// <summary>A report mail: the report is its <c>application/tlsrpt+gzip</c> or <c>+json</c> part (RFC 8460 §5.3), or an attachment named .json.gz / .json.</summary>
    public ReceivedTlsReport ReadMessage(Stream message)
    {
        var bytes = ReadLimited(message, options.MaxReportBytes, "message");
        MimeMessage parsed;
        try
        {
            parsed = MimeMessage.Load(Mime, new MemoryStream(bytes, writable: false));
        }
        catch (Exception ex) when (ex is FormatException or ParseException or InvalidOperationException)
        {
            throw new TlsReportRefusedException("not a MIME message");
        }
        var part = parsed.BodyParts.OfType<MimePart>().FirstOrDefault(p => IsGzipPart(p) is not null)
            ?? throw new TlsReportRefusedException("no application/tlsrpt+gzip, application/tlsrpt+json or .json(.gz) part");
        using var decoded = new MemoryStream();
        try
        {
            (part.Content ?? throw new TlsReportRefusedException("the report part is empty")).DecodeTo(decoded);
        }
        catch (Exception ex) when (ex is FormatException or IOException)
        {
            throw new TlsReportRefusedException("the report part cannot be decoded");
        }
        return ReadBody(decoded.ToArray(), IsGzipPart(part)!.Value);
    }

    /// <summary>
    /// The report file itself (an HTTPS POST body, a decoded attachment), decoded as declared (RFC 8460 §5.3, §5.4):
    /// <paramref name="gzip"/> for <c>application/tlsrpt+gzip</c> (or a .json.gz file), else JSON. A body that is not what
    /// its type says (gzip magic bytes in a +json body, or none in a +gzip body) is refused, not guessed at.
    /// </summary>
    public ReceivedTlsReport ReadBody(byte[] body, bool gzip)
    {
        if (body.LongLength > options.MaxReportBytes) throw new TlsReportRefusedException($"larger than {options.MaxReportBytes} bytes");
        bool looksGzip = body.Length >= 2 && body[0] == 0x1f && body[1] == 0x8b;
        if (gzip && !looksGzip) throw new TlsReportRefusedException("declared gzip, but the body is not gzip");
        if (!gzip && looksGzip) throw new TlsReportRefusedException("declared JSON, but the body is gzip");
        return ReadJson(gzip ? Gunzip(body) : body);
    }

    /// <summary>RFC 8460 §4.4 JSON.</summary>
    public ReceivedTlsReport ReadJson(byte[] json)
    {
        if (json.LongLength > options.MaxReportJsonBytes) throw new TlsReportRefusedException($"JSON larger than {options.MaxReportJsonBytes} bytes");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = MaxDepth });
        }
        catch (JsonException ex)
        {
            throw new TlsReportRefusedException(ex.Message.Contains("depth", StringComparison.OrdinalIgnoreCase)
                ? $"JSON nested deeper than {MaxDepth}" : "not JSON");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new TlsReportRefusedException("not a JSON object");
            var org = Text(root, "organization-name", MaxNameLength);
            try
            {
                var contact = OptionalText(root, "contact-info", MaxNameLength);
                var reportId = Text(root, "report-id", MaxNameLength);
                var range = Member(root, "date-range", JsonValueKind.Object);
                var start = Time(range, "start-datetime");
                var end = Time(range, "end-datetime");
                if (end < start) throw new TlsReportRefusedException("date-range ends before it starts");
                var policies = Member(root, "policies", JsonValueKind.Array);
                if (policies.GetArrayLength() is 0 or > MaxPolicies) throw new TlsReportRefusedException($"policies: 1 to {MaxPolicies} entries");
                var list = policies.EnumerateArray().Select(ReadPolicy).ToList();
                return new ReceivedTlsReport(org, contact, reportId, start, end, list);
            }
            catch (TlsReportRefusedException ex) when (ex.Organization is null)
            {
                throw new TlsReportRefusedException(ex.Message, org);
            }
        }
    }

    /// <summary>
    /// The policies of <paramref name="report"/> whose policy-domain <paramref name="accept"/> takes (a hosted domain;
    /// the addressed one for a per-domain report address). None left: refused, naming the domains reported on.
    /// </summary>
    public static ReceivedTlsReport Keep(ReceivedTlsReport report, Func<string, bool> accept)
    {
        var kept = report.Policies.Where(p => accept(p.PolicyDomain)).ToList();
        if (kept.Count == 0)
        {
            var named = string.Join(", ", report.Policies.Select(p => p.PolicyDomain).Distinct().Take(3));
            throw new TlsReportRefusedException($"report for a domain not hosted here ({named})", report.Organization);
        }
        return report with { Policies = kept };
    }

    /// <summary>Whether a report part is gzip (by its declared type, else an attachment's name: .json.gz or .json); null: not a report part.</summary>
    private static bool? IsGzipPart(MimePart part)
    {
        var type = part.ContentType.MimeType.ToLowerInvariant();
        if (type == "application/tlsrpt+gzip") return true;
        if (type == "application/tlsrpt+json") return false;
        var name = part.FileName?.ToLowerInvariant() ?? "";
        return name.EndsWith(".json.gz", StringComparison.Ordinal) ? true : name.EndsWith(".json", StringComparison.Ordinal) ? false : null;
    }

    private byte[] Gunzip(byte[] compressed)
    {
        long limit = Math.Min(options.MaxReportJsonBytes, MaxExpansion * (long)compressed.Length);
        using var output = new MemoryStream();
        try
        {
            using var gzip = new GZipStream(new MemoryStream(compressed, writable: false), CompressionMode.Decompress);
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = gzip.Read(buffer)) > 0)
            {
                if (output.Length + n > limit) throw new TlsReportRefusedException($"gzip expands beyond {limit} bytes");
                output.Write(buffer, 0, n);
            }
        }
        catch (InvalidDataException)
        {
            throw new TlsReportRefusedException("not valid gzip");
        }
        // The gzip format's member ends with CRC32 and ISIZE (the length mod 2^32); a cut stream does not.
        if (compressed.Length < 18 || BinaryPrimitives.ReadUInt32LittleEndian(compressed.AsSpan(compressed.Length - 4)) != (uint)output.Length)
            throw new TlsReportRefusedException("truncated gzip");
        return output.ToArray();
    }

    private static byte[] ReadLimited(Stream input, long limit, string what)
    {
        if (input.CanSeek && input.Length - input.Position > limit) throw new TlsReportRefusedException($"{what} larger than {limit} bytes");
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int n;
        while ((n = input.Read(chunk)) > 0)
        {
            if (buffer.Length + n > limit) throw new TlsReportRefusedException($"{what} larger than {limit} bytes");
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }

    private static ReceivedTlsReportPolicy ReadPolicy(JsonElement entry)
    {
        if (entry.ValueKind != JsonValueKind.Object) throw new TlsReportRefusedException("policies: an entry is not an object");
        var policy = Member(entry, "policy", JsonValueKind.Object);
        var type = Text(policy, "policy-type", 32);
        if (!TlsReportPolicyTypes.TryParse(type, out _)) throw new TlsReportRefusedException($"unknown policy-type '{Short(type)}'");
        var domain = Text(policy, "policy-domain", MaxNameLength).TrimEnd('.').ToLowerInvariant();
        var strings = policy.TryGetProperty("policy-string", out var s) ? Strings(s, "policy-string") : [];
        var summary = Member(entry, "summary", JsonValueKind.Object);
        var ok = Count(summary, "total-successful-session-count");
        var failed = Count(summary, "total-failure-session-count");
        var failures = new List<TlsReportFailure>();
        if (entry.TryGetProperty("failure-details", out var details))
        {
            if (details.ValueKind != JsonValueKind.Array || details.GetArrayLength() > MaxFailureDetails)
                throw new TlsReportRefusedException($"failure-details: an array of at most {MaxFailureDetails}");
            foreach (var d in details.EnumerateArray())
            {
                if (d.ValueKind != JsonValueKind.Object) throw new TlsReportRefusedException("failure-details: an entry is not an object");
                failures.Add(new TlsReportFailure(Text(d, "result-type", 64), OptionalText(d, "sending-mta-ip", 64),
                    OptionalText(d, "receiving-mx-hostname", MaxNameLength), OptionalText(d, "receiving-ip", 64),
                    Count(d, "failed-session-count"), OptionalText(d, "failure-reason-code", MaxTextLength)));
            }
        }
        return new ReceivedTlsReportPolicy(domain, type, strings, ok, failed, failures);
    }

    private static JsonElement Member(JsonElement obj, string name, JsonValueKind kind) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == kind ? v : throw new TlsReportRefusedException($"{name} missing or not {Kind(kind)}");

    private static string Text(JsonElement obj, string name, int maxLength) =>
        OptionalText(obj, name, maxLength) is { Length: > 0 } s ? s : throw new TlsReportRefusedException($"{name} missing or empty");

    private static string? OptionalText(JsonElement obj, string name, int maxLength)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.String) throw new TlsReportRefusedException($"{name} not a string");
        var s = v.GetString()!;
        return s.Length <= maxLength ? s : throw new TlsReportRefusedException($"{name} longer than {maxLength} characters");
    }

    private static List<string> Strings(JsonElement v, string name)
    {
        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() > MaxPolicyStrings) throw new TlsReportRefusedException($"{name}: an array of at most {MaxPolicyStrings}");
        return v.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String && e.GetString()!.Length <= MaxTextLength
            ? e.GetString()! : throw new TlsReportRefusedException($"{name}: an entry not a string of at most {MaxTextLength} characters")).ToList();
    }

    private static long Count(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) && n is >= 0 and <= MaxSessionCount
            ? n : throw new TlsReportRefusedException($"{name} missing or not a count of 0 to {MaxSessionCount}");

    private static DateTimeOffset Time(JsonElement obj, string name) =>
        DateTimeOffset.TryParse(Text(obj, name, 64), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t.ToUniversalTime() : throw new TlsReportRefusedException($"{name} not a date-time");

    private static string Kind(JsonValueKind kind) => kind == JsonValueKind.Array ? "an array" : "an object";

    private static string Short(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
