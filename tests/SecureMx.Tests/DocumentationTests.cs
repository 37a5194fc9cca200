using System.Text.RegularExpressions;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests;

/// <summary>
/// The design lives in the repository: no file points at documents a clone does not have, every
/// relative link in the documentation resolves, and every RFC the code cites has a row in
/// docs/RFC-STATUS.md (mox keeps its rfc/index.txt honest the same way).
/// </summary>
public sealed partial class DocumentationTests
{
    /// <summary>Text files of the repository (what a clone has), without build output.</summary>
    private static IEnumerable<string> RepositoryFiles(params string[] extensions) =>
        Directory.EnumerateFiles(Repository.Root, "*", SearchOption.AllDirectories)
            .Where(f => extensions.Contains(Path.GetExtension(f)))
            .Where(f => !Path.GetRelativePath(Repository.Root, f).Split(Path.DirectorySeparatorChar)
                .Any(part => part is "bin" or "obj" or ".git" or "artifacts" or "node_modules" or "demo"));

    private static string Relative(string file) => Path.GetRelativePath(Repository.Root, file);

    // Documents of the steering folder that a clone of the repository does not have.
    private static readonly string[] OutsideDocuments = ["DESIGN.md", "LIBRARIES.md", "TESTBED.md", "STYLE.md", "../shared"];

    [Fact]
    public void NoFilePointsAtDocumentsOutsideTheRepository()
    {
        var self = Path.Combine("tests", "SecureMx.Tests", "DocumentationTests.cs");
        var hits = new List<string>();
        foreach (var file in RepositoryFiles(".cs", ".md", ".sh", ".cshtml", ".json", ".csproj", ".props", ".resx", ".txt"))
        {
            if (Relative(file) == self) continue;
            var lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                if (OutsideDocuments.FirstOrDefault(d => lines[i].Contains(d, StringComparison.Ordinal)) is { } d)
                    hits.Add($"{Relative(file)}:{i + 1}: {d}");
            }
        }
        Assert.True(hits.Count == 0, "references to documents outside the repository (the design is docs/ARCHITECTURE.md):\n" + string.Join('\n', hits));
    }

    [GeneratedRegex(@"\]\(([^)#\s]+)(#[^)]*)?\)")]
    private static partial Regex MarkdownLink();

    [Fact]
    public void EveryRelativeLinkInTheDocumentationResolves()
    {
        var broken = new List<string>();
        foreach (var file in RepositoryFiles(".md"))
        {
            foreach (Match m in MarkdownLink().Matches(File.ReadAllText(file)))
            {
                var target = m.Groups[1].Value;
                if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal)) continue;
                var path = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, target));
                if (!path.StartsWith(Repository.Root, StringComparison.Ordinal)) broken.Add($"{Relative(file)}: {target} (outside the repository)");
                else if (!File.Exists(path) && !Directory.Exists(path)) broken.Add($"{Relative(file)}: {target}");
            }
        }
        Assert.True(broken.Count == 0, "broken links:\n" + string.Join('\n', broken));
    }

    [GeneratedRegex(@"\bRFC (\d{3,4})\b")]
    private static partial Regex RfcCitation();

    [GeneratedRegex(@"^\|\s*([0-9][0-9,–\- ]*)\s*\|")]
    private static partial Regex RfcStatusRow();

    [Fact]
    public void EveryRfcTheCodeCitesHasARowInRfcStatus()
    {
        var listed = new HashSet<int>();
        foreach (var line in File.ReadAllLines(Repository.PathOf("docs/RFC-STATUS.md")))
        {
            if (RfcStatusRow().Match(line) is not { Success: true } m) continue;
            foreach (var part in m.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var range = part.Split('–', '-');
                int from = int.Parse(range[0]), to = int.Parse(range[^1]);
                for (int n = from; n <= to; n++) listed.Add(n);
            }
        }
        var missing = RepositoryFiles(".cs", ".cshtml")
            .Where(f => Relative(f).StartsWith("src", StringComparison.Ordinal))
            .SelectMany(f => RfcCitation().Matches(File.ReadAllText(f)).Select(m => (Rfc: int.Parse(m.Groups[1].Value), File: Relative(f))))
            .Where(c => !listed.Contains(c.Rfc))
            .GroupBy(c => c.Rfc)
            .Select(g => $"RFC {g.Key} (cited in {g.First().File})")
            .ToList();
        Assert.True(missing.Count == 0, "RFCs cited in src/ without a row in docs/RFC-STATUS.md:\n" + string.Join('\n', missing));
    }
}
