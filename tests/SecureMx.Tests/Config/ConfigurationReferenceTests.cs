using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using SecureMx.Config;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Config;

/// <summary>
/// docs/CONFIGURATION.md is the one list of configuration keys (as Postfix's postconf.proto is):
/// every key of <see cref="SecureMxOptions"/> has a row with its real default, and no row names a
/// key the program does not know.
/// </summary>
public sealed partial class ConfigurationReferenceTests
{
    [GeneratedRegex(@"^\|\s*`([A-Za-z0-9.]+)`\s*\|\s*([^|]*)\|")]
    private static partial Regex Row();

    /// <summary>Documented key → the text of its default column.</summary>
    private static Dictionary<string, string> Documented() =>
        File.ReadAllLines(Repository.PathOf("docs/CONFIGURATION.md"))
            .Select(l => Row().Match(l))
            .Where(m => m.Success)
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value.Trim());

    /// <summary>Every scalar key of the options ("limits.maxRecipients") with its default value.</summary>
    private static Dictionary<string, object?> Keys()
    {
        var keys = new Dictionary<string, object?>();
        void Walk(object section, string prefix)
        {
            foreach (var p in section.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
            {
                var name = prefix + char.ToLowerInvariant(p.Name[0]) + p.Name[1..];
                var value = p.GetValue(section);
                if (value is not null && p.PropertyType.IsClass && p.PropertyType != typeof(string)) Walk(value, name + ".");
                else keys[name] = value;
            }
        }
        Walk(new SecureMxOptions(), "");
        return keys;
    }

    [Fact]
    public void EveryKeyHasARow()
    {
        var missing = Keys().Keys.Where(k => !Documented().ContainsKey(k)).Order().ToList();
        Assert.True(missing.Count == 0, "keys without a row in docs/CONFIGURATION.md: " + string.Join(", ", missing));
    }

    [Fact]
    public void EveryRowIsAKey()
    {
        var unknown = Documented().Keys.Where(k => !Keys().ContainsKey(k)).Order().ToList();
        Assert.True(unknown.Count == 0, "docs/CONFIGURATION.md documents keys the program does not know: " + string.Join(", ", unknown));
    }

    [Fact]
    public void EveryDocumentedDefaultIsTheRealOne()
    {
        var wrong = new List<string>();
        foreach (var (key, value) in Keys())
        {
            if (!Documented().TryGetValue(key, out var column) || !column.StartsWith('`')) continue; // e.g. "(required …)"
            var documented = column[1..column.IndexOf('`', 1)];
            if (documented == "\"\"") documented = "";
            var actual = Convert.ToString(value, CultureInfo.InvariantCulture) ?? "";
            if (value is bool b) actual = b ? "true" : "false";
            if (documented != actual) wrong.Add($"{key}: documented {documented}, default {actual}");
        }
        Assert.True(wrong.Count == 0, "wrong defaults in docs/CONFIGURATION.md:\n" + string.Join('\n', wrong));
    }
}
