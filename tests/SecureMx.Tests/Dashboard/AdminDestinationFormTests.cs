using System.Net;
using System.Text.RegularExpressions;
using SecureMx.Dashboard.Pages;
using SecureMx.Mail;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// The destination form of the administration page: no level is preselected (an entry may relax a
/// destination, so it is always a deliberate choice), a form without a level changes nothing, and
/// an entry is removed only by its remove button.
/// </summary>
public sealed partial class AdminDestinationFormTests(DashboardTestHost host) : IClassFixture<DashboardTestHost>
{
    [GeneratedRegex("""<select id="level" name="level" required>(?<options>.*?)</select>""", RegexOptions.Singleline)]
    private static partial Regex LevelSelect();

    [GeneratedRegex("""<option value="(?<value>[^"]*)"(?<attributes>[^>]*)>""")]
    private static partial Regex Option();

    [Fact]
    public async Task TheLevelFieldPreselectsAPlaceholderThatCannotBeSubmittedAndNoLevel()
    {
        var html = await (await host.As(Role.Root)).GetPageAsync("/admin");
        var select = LevelSelect().Match(html);
        Assert.True(select.Success, html);
        var options = Option().Matches(select.Groups["options"].Value).Select(m => (Value: m.Groups["value"].Value, Attributes: m.Groups["attributes"].Value)).ToList();

        var (value, attributes) = options[0];
        Assert.Equal("", value);
        Assert.Contains("disabled", attributes);
        Assert.Contains("selected", attributes);
        Assert.Equal(Enum.GetValues<OutboundTlsLevel>().Select(l => l.Name()), options.Skip(1).Select(o => o.Value));
        Assert.All(options.Skip(1), o => Assert.DoesNotContain("selected", o.Attributes));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public async Task ADestinationWithoutAChosenLevelIsRefusedWithAMessageAndChangesNothing(string? level)
    {
        var client = await host.As(Role.Root);
        var before = PolicySnapshot.Take(host.Store);
        (string, string)[] fields = level is null ? [("destination", "unchosen.example")] : [("destination", "unchosen.example"), ("level", level)];
        using var response = await client.PostFormAsync("/admin?handler=Destination", fields);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Choose a TLS level for unchosen.example.", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal(before, PolicySnapshot.Take(host.Store));
    }

    [Fact]
    public async Task ALenientEntryCanBeSavedAndOnlyTheRemoveButtonRemovesIt()
    {
        var client = await host.As(Role.Root);
        try
        {
            using var set = await client.PostFormAsync("/admin?handler=Destination", ("destination", "legacy.example"), ("level", "none"));
            Assert.Equal(HttpStatusCode.Redirect, set.StatusCode);
            Assert.Equal(OutboundTlsLevel.None, host.Store.Policies.DestinationTls("legacy.example"));

            using var remove = await client.PostFormAsync("/admin?handler=Destination", ("destination", "legacy.example"), ("level", AdminModel.RemoveLevel));
            Assert.Equal(HttpStatusCode.Redirect, remove.StatusCode);
            Assert.Null(host.Store.Policies.DestinationTls("legacy.example"));
        }
        finally
        {
            if (host.Store.Policies.DestinationTls("legacy.example") is not null) host.Store.Policies.SetDestinationTls("legacy.example", null, "test");
        }
    }
}
