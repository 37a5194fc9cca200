namespace SecureMx.Tests.TestSupport;

/// <summary>
/// A Dovecot configuration file read back into its sections and settings, so that a test asks for
/// <c>service imap-login / inet_listener imaps / port</c> rather than matching text that would also
/// match in a comment or in the wrong section. A setting given twice in one section, an unclosed or
/// an unopened brace fails the parse: a generated file has neither.
/// </summary>
public sealed class DovecotConfigTree
{
    private readonly Dictionary<string, string> _settings = new(StringComparer.Ordinal);
    private readonly List<(string Name, DovecotConfigTree Tree)> _sections = [];

    public IReadOnlyDictionary<string, string> Settings => _settings;

    public IEnumerable<string> SectionNames => _sections.Select(s => s.Name);

    public static DovecotConfigTree Parse(string text)
    {
        var root = new DovecotConfigTree();
        var open = new Stack<DovecotConfigTree>();
        open.Push(root);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            if (line == "}")
            {
                if (open.Count == 1) throw new FormatException("a } without its {");
                open.Pop();
            }
            else if (line.EndsWith('{'))
            {
                var section = new DovecotConfigTree();
                open.Peek()._sections.Add((line[..^1].Trim(), section));
                open.Push(section);
            }
            else
            {
                var eq = line.IndexOf('=');
                if (eq <= 0) throw new FormatException($"not a setting: {line}");
                if (!open.Peek()._settings.TryAdd(line[..eq].Trim(), line[(eq + 1)..].Trim())) throw new FormatException($"set twice: {line}");
            }
        }
        if (open.Count != 1) throw new FormatException("a { without its }");
        return root;
    }

    /// <summary>The one section of that name (fails when there is none or more than one).</summary>
    public DovecotConfigTree Section(string name) => Assert.Single(_sections, s => s.Name == name).Tree;

    public bool HasSection(string name) => _sections.Any(s => s.Name == name);

    /// <summary>A setting of this section, or of a section within it: <c>Setting("service lmtp", "inet_listener lmtp", "port")</c>.</summary>
    public string Setting(params string[] path)
    {
        var tree = this;
        foreach (var section in path[..^1]) tree = tree.Section(section);
        Assert.True(tree._settings.TryGetValue(path[^1], out var value), $"no setting {string.Join(" / ", path)}");
        return value!;
    }
}
