using System.Data.Common;
using System.Net;
using SecureMx.Spool;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// The dashboard on a full disk (a real tmpfs under the store and the spool, filled to the last page),
/// which is when an operator needs its low-disk warning: a signed-in session goes on although the
/// store cannot record when it was last seen, and a new login says the disk is full instead of a 500.
/// </summary>
public sealed class DashboardOnFullDiskTests(FullDiskDashboardHost host) : IClassFixture<FullDiskDashboardHost>
{
    [Fact]
    public async Task ASignedInAdminKeepsTheDashboardAndANewLoginSaysTheDiskIsFull()
    {
        if (host.MountFailure is { } why) Assert.Skip(why);
        var root = await host.SignInAsync(DashboardTestHost.Addresses[Role.Root]);
        host.Fill();
        // Past the resolution of last_seen_at: the next request of the session wants to write it.
        host.Clock.Advance(TimeSpan.FromMinutes(2));

        var queue = await root.GetPageAsync("/queue");
        Assert.Contains("id=\"low-disk\"", queue, StringComparison.Ordinal);
        await root.GetPageAsync("/");
        // The store really refuses writes: what the session check no longer tried to record.
        var refused = Assert.ThrowsAny<DbException>(() => host.Store.Database.Execute("UPDATE dashboard_sessions SET last_seen_at = last_seen_at + 1"));
        Assert.True(StorageFailure.IsDiskFull(refused), refused.Message);

        using var login = await host.NewClient().LoginAsync(DashboardTestHost.Addresses[Role.User], DashboardTestHost.Password);
        var page = await login.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, login.StatusCode);
        Assert.Contains("The server&#x27;s disk is full: no session can be opened now.", page, StringComparison.Ordinal);
        Assert.Empty(host.Errors);
    }
}
