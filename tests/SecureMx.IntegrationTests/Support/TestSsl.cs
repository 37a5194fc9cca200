using System.Text.Json;

namespace SecureMx.IntegrationTests.Support;

/// <summary>One finding of a testssl.sh scan (its --jsonfile output): e.g. Id "TLS1", Severity "OK", Finding "not offered".</summary>
public sealed record TestSslFinding(string Id, string Severity, string Finding);

/// <summary>
/// testssl.sh (Debian package testssl.sh, whose command is <c>testssl</c>), an independent check of our
/// TLS listeners. A scan takes a while (~20 s for the protocols alone, -p, on a busy 2-core machine):
/// run it once per listener and ask only for the checks a test needs.
/// </summary>
public static class TestSsl
{
    /// <summary>The testssl command (Debian installs /usr/bin/testssl; upstream calls it testssl.sh), or null if not installed.</summary>
    public static string? Command =>
        new[] { "testssl", "testssl.sh" }.FirstOrDefault(Run.Exists);

    /// <summary>
    /// Scans <paramref name="target"/> ("ADDR:PORT") with STARTTLS <paramref name="starttls"/> ("smtp"),
    /// or as implicit TLS if null, running only <paramref name="checks"/> (e.g. "-p" protocols, "-E"
    /// ciphers per protocol, "-S" server defaults), without DNS lookups. Returns the findings of the
    /// JSON report (flat array).
    /// </summary>
    public static async Task<IReadOnlyList<TestSslFinding>> ScanAsync(string target, string? starttls, string[] checks, TimeSpan? timeout = null)
    {
        var command = Command;
        Assert.True(command is not null, "testssl.sh is not installed: run scripts/install-test-deps.sh");
        var dir = Directory.CreateTempSubdirectory("securemx-testssl-");
        try
        {
            var json = Path.Combine(dir.FullName, "report.json"); // testssl refuses to overwrite an existing file
            var args = new List<string> { "--quiet", "--color", "0", "--warnings", "off", "--nodns", "none", "--jsonfile", json };
            if (starttls is not null) args.AddRange(["--starttls", starttls]);
            args.AddRange(checks);
            args.Add(target);
            var r = await Run.ProcessAsync(command!, args, timeout: timeout ?? TimeSpan.FromMinutes(5));
            Assert.True(File.Exists(json), $"testssl wrote no report (exit {r.ExitCode}): {r.All}");
            using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
            return doc.RootElement.EnumerateArray()
                .Select(e => new TestSslFinding(Str(e, "id"), Str(e, "severity"), Str(e, "finding")))
                .ToList();
        }
        finally
        {
            try { dir.Delete(recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static string Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
}
