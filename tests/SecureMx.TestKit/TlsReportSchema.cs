using System.Text.Json.Nodes;
using Json.Schema;

namespace SecureMx.TestKit;

/// <summary>
/// The RFC 8460 §4.4 report format as a JSON Schema (tlsrpt-report.schema.json, embedded): required
/// members, types, the result-type (§4.3) and policy-type vocabularies, RFC 3339 date-times, IP
/// addresses and A-label domains. Formats are checked (JsonSchema.Net only annotates them by default).
/// </summary>
public static class TlsReportSchema
{
    private static readonly Lazy<JsonSchema> Schema = new(() =>
    {
        using var stream = typeof(TlsReportSchema).Assembly.GetManifestResourceStream("tlsrpt-report.schema.json")
            ?? throw new InvalidOperationException("tlsrpt-report.schema.json is not embedded");
        using var reader = new StreamReader(stream);
        return JsonSchema.FromText(reader.ReadToEnd());
    });

    /// <summary>Why <paramref name="document"/> is not a TLS report, one line per failed check; empty when it is one.</summary>
    public static IReadOnlyList<string> Errors(JsonNode? document)
    {
        var results = Schema.Value.Evaluate(document, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
        if (results.IsValid) return [];
        return results.Details.Where(d => d.HasErrors).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}")).ToList();
    }

    /// <summary>Why the UTF-8 <paramref name="json"/> is not a TLS report (not JSON at all included); empty when it is one.</summary>
    public static IReadOnlyList<string> Errors(string json)
    {
        try
        {
            return Errors(JsonNode.Parse(json));
        }
        catch (System.Text.Json.JsonException ex)
        {
            return [$"not JSON: {ex.Message}"];
        }
    }
}
