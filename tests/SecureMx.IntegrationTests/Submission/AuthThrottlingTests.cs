using System.Text.Json.Nodes;
using MailKit.Security;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Submission;

/// <summary>
/// Password guessing is throttled per account and per client IP. Each test has its own instance (every
/// client here is 127.0.0.1, so one lock-out would block the other tests) with small limits and a short
/// failure delay. Every attempt is a new connection, as a guesser's would be, and uses one mechanism (PLAIN),
/// so each counts exactly once.
/// </summary>
public sealed class AuthThrottlingTests
{
    private const string Alice = "alice@example.test";
    private const string Bob = "bob@example.test";

    private static async Task<SecureMxInstance> StartAsync(int perAccount, int perIp, string window = "15m")
    {
        var mx = await SecureMxInstance.CreateAsync("example.test", [Alice, Bob], cfg => cfg["auth"] = new JsonObject
        {
            ["failureDelay"] = "50ms",
            ["maxFailuresPerAccount"] = perAccount,
            ["maxFailuresPerIp"] = perIp,
            ["failureWindow"] = window,
        }, submission: true);
        try
        {
            await mx.StartAsync();
            return mx;
        }
        catch
        {
            await mx.DisposeAsync();
            throw;
        }
    }

    /// <summary>One AUTH PLAIN on a fresh submissions connection; returns the server's final reply to it.</summary>
    private static async Task<string> AuthReplyAsync(SecureMxInstance mx, string user, string password)
    {
        using var client = await SubmissionClient.ConnectAsync(mx, SecureSocketOptions.SslOnConnect);
        var before = client.ServerLines.Count;
        try
        {
            await client.AuthenticateAsync(user, password, "PLAIN");
        }
        catch (Exception ex) when (ex is AuthenticationException or MailKit.Net.Smtp.SmtpCommandException) { }
        return client.ServerLines.Skip(before).LastOrDefault() ?? throw new InvalidOperationException("no reply to AUTH:\n" + client.Transcript);
    }

    [Fact]
    public async Task AfterTooManyFailuresForAnAccountEvenItsRightPasswordGets454WhileOtherAccountsStillLogIn()
    {
        await using var mx = await StartAsync(perAccount: 3, perIp: 100);
        for (var i = 0; i < 3; i++) Assert.StartsWith("535 5.7.8", await AuthReplyAsync(mx, Alice, "guess-" + i));
        Assert.StartsWith("454 4.7.0", await AuthReplyAsync(mx, Alice, SubmissionClient.Password));
        Assert.StartsWith("454 4.7.0", await AuthReplyAsync(mx, Alice, SubmissionClient.Password)); // and it stays so
        Assert.StartsWith("235 2.7.0", await AuthReplyAsync(mx, Bob, SubmissionClient.Password));
    }

    [Fact]
    public async Task AccountLimitCountsFailuresByNameAlsoForAnUnknownAccount()
    {
        // A guesser may not learn whether an account exists from when the lock-out starts.
        await using var mx = await StartAsync(perAccount: 2, perIp: 100);
        for (var i = 0; i < 2; i++) Assert.StartsWith("535 5.7.8", await AuthReplyAsync(mx, "nobody@example.test", "guess-" + i));
        Assert.StartsWith("454 4.7.0", await AuthReplyAsync(mx, "nobody@example.test", "guess-x"));
        Assert.StartsWith("235 2.7.0", await AuthReplyAsync(mx, Alice, SubmissionClient.Password));
    }

    [Fact]
    public async Task AfterTooManyFailuresFromOneIpEvenAnotherAccountsRightPasswordGets454()
    {
        await using var mx = await StartAsync(perAccount: 100, perIp: 3);
        Assert.StartsWith("535 5.7.8", await AuthReplyAsync(mx, Alice, "guess"));
        Assert.StartsWith("535 5.7.8", await AuthReplyAsync(mx, "nobody@example.test", "guess"));
        Assert.StartsWith("535 5.7.8", await AuthReplyAsync(mx, "somebody@elsewhere.test", "guess"));
        Assert.StartsWith("454 4.7.0", await AuthReplyAsync(mx, Bob, SubmissionClient.Password));
    }

    [Fact]
    public async Task LockOutEndsWhenTheFailureWindowHasPassed()
    {
        await using var mx = await StartAsync(perAccount: 2, perIp: 100, window: "3s");
        for (var i = 0; i < 2; i++) Assert.StartsWith("535 5.7.8", await AuthReplyAsync(mx, Alice, "guess-" + i));
        Assert.StartsWith("454 4.7.0", await AuthReplyAsync(mx, Alice, SubmissionClient.Password));
        await Task.Delay(TimeSpan.FromSeconds(3.5)); // the window, counted from the last attempt
        Assert.StartsWith("235 2.7.0", await AuthReplyAsync(mx, Alice, SubmissionClient.Password));
    }
}
