using System.Text.RegularExpressions;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests;

/// <summary>
/// The layering of docs/ARCHITECTURE.md holds in the compiled code: every folder has a row, no
/// folder uses one its row does not name, and the allowed graph has no cycles (so neither has the
/// code). The table is read from the document, so the document and the check cannot drift.
/// </summary>
public sealed partial class ArchitectureTests
{
    private static readonly Lazy<FolderGraph> Graph = new(() => FolderGraph.Of(typeof(SecureMx.Program).Assembly.Location));

    private static readonly Lazy<Dictionary<string, HashSet<string>>> Allowed = new(ReadLayering);

    [GeneratedRegex(@"^\|\s*`([^`]+)`\s*\|[^|]*\|\s*([^|]*?)\s*\|\s*$")]
    private static partial Regex LayeringRow();

    /// <summary>The table under "## Layering": folder → the folders it may use.</summary>
    private static Dictionary<string, HashSet<string>> ReadLayering()
    {
        var lines = File.ReadAllLines(Repository.PathOf("docs/ARCHITECTURE.md"));
        var start = Array.FindIndex(lines, l => l.Trim() == "## Layering");
        Assert.True(start >= 0, "docs/ARCHITECTURE.md has no '## Layering' section");
        var table = new Dictionary<string, HashSet<string>>();
        foreach (var line in lines.Skip(start + 1).TakeWhile(l => !l.StartsWith("## ", StringComparison.Ordinal)))
        {
            var m = LayeringRow().Match(line);
            if (!m.Success) continue;
            var folder = m.Groups[1].Value.TrimEnd('/');
            var uses = m.Groups[2].Value.Trim() is "—" or "-" or ""
                ? new HashSet<string>()
                : m.Groups[2].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet();
            Assert.True(table.TryAdd(folder, uses), $"docs/ARCHITECTURE.md names {folder} twice");
        }
        Assert.NotEmpty(table);
        return table;
    }

    [Fact]
    public void EveryFolderOfTheCodeHasARowInTheLayeringTable()
    {
        var inCode = Graph.Value.Folders;
        var onDisk = Directory.GetDirectories(Repository.PathOf("src/SecureMx"))
            .Select(Path.GetFileName)
            .Where(d => d is not ("bin" or "obj" or "Properties"))
            .Select(d => d!);
        var missing = inCode.Concat(onDisk).Distinct().Where(f => !Allowed.Value.ContainsKey(f)).Order().ToList();
        Assert.True(missing.Count == 0, "folders without a row in docs/ARCHITECTURE.md: " + string.Join(", ", missing));
    }

    [Fact]
    public void EveryFolderTheTableNamesExists()
    {
        var table = Allowed.Value;
        var unknown = table.Values.SelectMany(v => v).Concat(table.Keys).Distinct().Where(f => !Graph.Value.Folders.Contains(f)).Order().ToList();
        Assert.True(unknown.Count == 0, "docs/ARCHITECTURE.md names folders the code does not have: " + string.Join(", ", unknown));
    }

    [Fact]
    public void NoFolderUsesAFolderItsRowDoesNotName()
    {
        var violations = new List<string>();
        foreach (var (from, uses) in Graph.Value.Edges)
        {
            var allowed = Allowed.Value.GetValueOrDefault(from) ?? [];
            foreach (var (to, example) in uses)
            {
                if (!allowed.Contains(to)) violations.Add($"{from} uses {to} (e.g. {example})");
            }
        }
        Assert.True(violations.Count == 0,
            "dependencies docs/ARCHITECTURE.md does not allow:\n" + string.Join('\n', violations.Order()) + "\n\nthe whole graph:\n" + Graph.Value.Describe());
    }

    [Fact]
    public void TheAllowedGraphHasNoCycles()
    {
        var table = Allowed.Value;
        var state = new Dictionary<string, int>(); // 1: on the path, 2: done
        var path = new Stack<string>();
        string? Visit(string folder)
        {
            if (state.GetValueOrDefault(folder) == 2) return null;
            if (state.GetValueOrDefault(folder) == 1) return string.Join(" -> ", path.Reverse().SkipWhile(f => f != folder).Append(folder));
            state[folder] = 1;
            path.Push(folder);
            foreach (var next in table.GetValueOrDefault(folder) ?? [])
            {
                if (Visit(next) is { } cycle) return cycle;
            }
            path.Pop();
            state[folder] = 2;
            return null;
        }
        foreach (var folder in table.Keys)
        {
            var cycle = Visit(folder);
            Assert.True(cycle is null, "docs/ARCHITECTURE.md allows a cycle: " + cycle);
        }
    }

    [Fact]
    public void TheVocabularyUsesNoOtherFolder()
    {
        TestContext.Current.TestOutputHelper?.WriteLine(Graph.Value.Describe()); // the graph as it is, for the test log
        Assert.Contains("Mail", Graph.Value.Folders);
        Assert.False(Graph.Value.Edges.TryGetValue("Mail", out var uses), "Mail uses " + string.Join(", ", uses?.Values ?? []));
    }
}
