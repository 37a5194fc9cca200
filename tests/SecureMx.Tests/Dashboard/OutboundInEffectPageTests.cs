using System.Net;
using System.Text.RegularExpressions;
using SecureMx.Mail;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// The overview and the account page say the same about what is in effect for an account's mail:
/// the domain's switch, else the account's own, else the default — one answer, from the policy.
/// </summary>
public sealed partial class OutboundInEffectPageTests(DashboardTestHost host) : IClassFixture<DashboardTestHost>
{
    private const string Account = "user@b.test";

    [GeneratedRegex("""<span class="status (?<css>\w+)" id="own-outbound" data-state="(?<state>\w+)">(?<text>[^<]*)</span>""")]
    private static partial Regex OwnOutbound();

    [GeneratedRegex("""<p id="account-effective" data-state="(?<state>\w+)">""")]
    private static partial Regex AccountEffective();

    private async Task<(string Css, string State, string Text)> OverviewAsync()
    {
        var html = await (await host.As(Role.UserB)).GetPageAsync("/");
        var m = OwnOutbound().Match(html);
        Assert.True(m.Success, html);
        return (m.Groups["css"].Value, m.Groups["state"].Value, WebUtility.HtmlDecode(m.Groups["text"].Value));
    }

    private async Task<string> AccountPageStateAsync()
    {
        var html = await (await host.As(Role.UserB)).GetPageAsync("/account/" + Account);
        var m = AccountEffective().Match(html);
        Assert.True(m.Success, html);
        return m.Groups["state"].Value;
    }

    [Fact]
    public async Task TheOverviewOfADefaultAccountInAMandatoryDomainSaysMandatoryBecauseOfTheDomain()
    {
        host.Store.Policies.SetDomainOutboundTls("b.test", OutboundTlsSetting.Mandatory, "test");
        try
        {
            Assert.Equal(OutboundTlsSetting.Default, host.Store.Policies.MailboxOutboundTls(Account));
            var (css, state, text) = await OverviewAsync();
            Assert.Equal(("ok", "domain"), (css, state));
            Assert.Equal("mandatory TLS (set for the whole domain b.test)", text);
            Assert.Equal("domain", await AccountPageStateAsync());
        }
        finally
        {
            host.Store.Policies.SetDomainOutboundTls("b.test", OutboundTlsSetting.Default, "test");
        }
    }

    [Fact]
    public async Task TheOverviewOfAMandatoryAccountSaysMandatoryAndOfADefaultOneDefault()
    {
        Assert.Equal(("off", "none"), ((await OverviewAsync()).Css, (await OverviewAsync()).State));
        Assert.Equal("none", await AccountPageStateAsync());

        host.Store.Policies.SetMailboxOutboundTls(Account, OutboundTlsSetting.Mandatory, "test");
        try
        {
            var (css, state, text) = await OverviewAsync();
            Assert.Equal(("ok", "account", "mandatory TLS"), (css, state, text));
            Assert.Equal("account", await AccountPageStateAsync());
        }
        finally
        {
            host.Store.Policies.SetMailboxOutboundTls(Account, OutboundTlsSetting.Default, "test");
        }
    }
}
