using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Dashboard.Pages;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dashboard;

/// <summary>The delivery log page model: the user's scope is applied whatever the query string says.</summary>
public sealed class LogPageScopeTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2030, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TestStore _store = new TestStore().WithExampleData();
    private readonly FakeTimeProvider _time = new(T0.AddHours(1));

    public LogPageScopeTests()
    {
        _store.Roles.AddSystemAdmin("carol@other.test", "test");
        _store.Roles.AddDomainAdmin("example.org", "bob@example.org", "test");
        _store.DeliveryLog.Append([
            Row("M0", "alice@example.org", "alice@example.org", T0),
            Row("M1", "bob@example.org", "bob@example.org", T0.AddMinutes(1)),
            Row("M2", "carol@other.test", "carol@other.test", T0.AddMinutes(2)),
            Row("M3", "alice@example.org", "alice@example.org", T0.AddDays(-8)),
        ]);
    }

    public void Dispose() => _store.Dispose();

    private static DeliveryLogEntry Row(string id, string sender, string? account, DateTimeOffset at) =>
        new(at, id, sender, account, "r@dest.test", "local", null, "delivered", 250, "2.0.0", "delivered to maildir", null, null, "none");

    private (IActionResult Result, LogModel Model) Get(string address, string? account = null, string? domain = null, int? days = null)
    {
        var model = new LogModel(DashboardPageUser.For(_store, address), _store.DeliveryLog, _time) { Account = account, Domain = domain, Days = days };
        return (model.OnGet(), model);
    }

    private static List<string> Ids(LogModel m) => m.Entries.Select(e => e.MessageId).ToList();

    [Fact]
    public void UserSeesOnlyTheirOwnRowsOfTheLastSevenDaysByDefault()
    {
        var (result, model) = Get("alice@example.org");

        Assert.IsType<PageResult>(result);
        Assert.Equal(["M0"], Ids(model));
    }

    [Fact]
    public void LongerPeriodReachesOlderRows()
    {
        var (_, model) = Get("alice@example.org", days: 30);

        Assert.Equal(["M0", "M3"], Ids(model));
    }

    [Fact]
    public void UserAskingForAnotherAccountOrADomainIsForbidden()
    {
        Assert.IsType<ForbidResult>(Get("alice@example.org", account: "bob@example.org").Result);
        Assert.IsType<ForbidResult>(Get("alice@example.org", domain: "example.org").Result);
        Assert.IsType<PageResult>(Get("alice@example.org", account: "Alice@Example.org").Result);
    }

    [Fact]
    public void DomainAdminSeesTheirDomainButNotOthers()
    {
        var (result, model) = Get("bob@example.org");

        Assert.IsType<PageResult>(result);
        Assert.Equal(["M1", "M0"], Ids(model));
        Assert.Equal(["M0"], Ids(Get("bob@example.org", account: "alice@example.org").Model));
        Assert.IsType<ForbidResult>(Get("bob@example.org", domain: "other.test").Result);
        Assert.IsType<ForbidResult>(Get("bob@example.org", account: "carol@other.test").Result);
    }

    [Fact]
    public void SystemAdminSeesAllAndMayFilterAnything()
    {
        Assert.Equal(["M2", "M1", "M0"], Ids(Get("carol@other.test").Model));
        Assert.Equal(["M1", "M0"], Ids(Get("carol@other.test", domain: "example.org").Model));
    }

    [Fact]
    public void TheLocalVerificationFilterShowsLocalDeliveriesAndNoneDoesNot()
    {
        // Every row here is a Maildir delivery written before verification "local" (host "local", verification "none").
        var local = new LogModel(DashboardPageUser.For(_store, "carol@other.test"), _store.DeliveryLog, _time) { Tls = "local" };
        var none = new LogModel(DashboardPageUser.For(_store, "carol@other.test"), _store.DeliveryLog, _time) { Tls = "none" };

        Assert.IsType<PageResult>(local.OnGet());
        Assert.IsType<PageResult>(none.OnGet());

        Assert.Equal("local", local.Tls);
        Assert.Equal(["M2", "M1", "M0"], Ids(local));
        Assert.Empty(Ids(none));
        Assert.All(local.Entries, e => Assert.Equal("LocalDelivery", LogModel.Verification(e).Key));
    }
}
