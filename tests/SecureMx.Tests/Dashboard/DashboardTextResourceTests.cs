using System.Collections;
using System.Globalization;
using System.Resources;
using System.Text.RegularExpressions;
using SecureMx.Dashboard;

namespace SecureMx.Tests.Dashboard;

/// <summary>Every text of the dashboard exists in English and German, non-empty, with the same placeholders.</summary>
public sealed partial class DashboardTextResourceTests
{
    public static TheoryData<string> MarkerClasses()
    {
        var data = new TheoryData<string>();
        foreach (var t in typeof(DashboardServer).Assembly.GetTypes().Where(t => t.Namespace == "SecureMx.Dashboard.Text" && t.IsClass && !t.IsNested).OrderBy(t => t.Name))
        {
            data.Add(t.FullName!);
        }
        return data;
    }

    private static Dictionary<string, string> Texts(string baseName, CultureInfo culture)
    {
        var manager = new ResourceManager(baseName, typeof(DashboardServer).Assembly);
        var set = manager.GetResourceSet(culture, createIfNotExists: true, tryParents: false);
        Assert.True(set is not null, $"{baseName}: no resources for culture '{culture.Name}'");
        return set.Cast<DictionaryEntry>().ToDictionary(e => (string)e.Key, e => e.Value as string ?? "");
    }

    [Fact]
    public void TheSharedTextsAreAmongTheMarkerClasses() => Assert.Contains("SecureMx.Dashboard.Text.SharedText", MarkerClasses().Select(r => (string)r.Data));

    [Theory]
    [MemberData(nameof(MarkerClasses))]
    public void EnglishAndGermanHaveTheSameKeysNoEmptyTextsAndTheSamePlaceholders(string marker)
    {
        var en = Texts(marker, CultureInfo.InvariantCulture);
        var de = Texts(marker, new CultureInfo("de"));
        Assert.NotEmpty(en);
        Assert.Equal(en.Keys.Order(StringComparer.Ordinal), de.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, english) in en)
        {
            Assert.False(string.IsNullOrWhiteSpace(english), $"{marker}: English '{key}' is empty");
            Assert.False(string.IsNullOrWhiteSpace(de[key]), $"{marker}: German '{key}' is empty");
            Assert.True(Placeholders(english).SequenceEqual(Placeholders(de[key])), $"{marker}: '{key}' has other placeholders in German: \"{english}\" / \"{de[key]}\"");
        }
        // A German file that is a copy of the English one is not a translation.
        Assert.Contains(en, e => e.Value != de[e.Key]);
    }

    private static IEnumerable<string> Placeholders(string text) => Placeholder().Matches(text).Select(m => m.Groups[1].Value).Distinct().Order(StringComparer.Ordinal);

    [GeneratedRegex(@"\{(\d+)(?:[,:][^}]*)?\}")]
    private static partial Regex Placeholder();
}
