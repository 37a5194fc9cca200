using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Auth;
using SecureMx.Config;
using SecureMx.Dovecot;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dovecot;

/// <summary>
/// Dovecot's policy requests through the login throttle: "allow" before a password is checked, a
/// "report" of the outcome after; a retry of the same password in the same session and a login the
/// policy itself refused do not count; anything Dovecot does not send is no answer at all.
/// </summary>
public sealed class DovecotAuthPolicyTests : IDisposable
{
    private const string Remote = "192.0.2.10";
    private readonly TestStore _store = new();

    public void Dispose() => _store.Dispose();

    private DovecotAuthPolicy Policy(int maxPerAccount = 3, int maxPerIp = 100) =>
        new(new AccountAuthenticator(_store.Mailboxes,
            new AuthOptions { FailureDelay = "0s", MaxFailuresPerAccount = maxPerAccount, MaxFailuresPerIp = maxPerIp }, TimeProvider.System, NullLogger.Instance));

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement;

    private static string Request(string login, string remote = Remote, string protocol = "imap", string? session = "s1", string pwhash = "h1") =>
        JsonSerializer.Serialize(new Dictionary<string, string?> { ["login"] = login, ["remote"] = remote, ["protocol"] = protocol, ["session"] = session, ["pwhash"] = pwhash });

    private static string Report(string login, bool success, string remote = Remote, string? session = "s1", string pwhash = "h1", bool policyReject = false)
    {
        var o = JsonSerializer.SerializeToNode(new Dictionary<string, string?> { ["login"] = login, ["remote"] = remote, ["protocol"] = "imap", ["session"] = session, ["pwhash"] = pwhash })!.AsObject();
        o["success"] = success;
        o["policy_reject"] = policyReject;
        return o.ToJsonString();
    }

    private static int Status(string? answer)
    {
        Assert.NotNull(answer);
        return Json(answer).GetProperty("status").GetInt32();
    }

    private static void Fail(DovecotAuthPolicy p, string login, string session, string pwhash = "h1", string remote = Remote) =>
        Assert.Equal(0, Status(p.Answer("report", Json(Report(login, false, remote, session, pwhash)))));

    [Fact]
    public void AnAllowRequestForAnAccountWithoutFailuresProceedsWithStatus0()
    {
        var answer = Policy().Answer("allow", Json(Request("alice@example.org")));
        Assert.Equal(0, Status(answer));
        Assert.Equal("", Json(answer!).GetProperty("msg").GetString());
    }

    [Fact]
    public void AfterMaxFailuresPerAccountReportsAllowIsRefusedWithStatusMinus1AndAMessage()
    {
        var p = Policy(maxPerAccount: 3);
        Fail(p, "alice@example.org", "s1");
        Fail(p, "alice@example.org", "s2");
        Assert.Equal(0, Status(p.Answer("allow", Json(Request("alice@example.org")))));
        Fail(p, "alice@example.org", "s3");

        var refused = Json(p.Answer("allow", Json(Request("alice@example.org", remote: "198.51.100.1")))!);
        Assert.Equal(-1, refused.GetProperty("status").GetInt32());
        Assert.Equal(DovecotAuthPolicy.Refusal, refused.GetProperty("msg").GetString());
        // Only that account: another one from the same address proceeds.
        Assert.Equal(0, Status(p.Answer("allow", Json(Request("bob@example.org")))));
    }

    [Fact]
    public void TheAccountIsCountedUnderItsNormalizedAddress()
    {
        var p = Policy(maxPerAccount: 2);
        Fail(p, "Alice@EXAMPLE.org", "s1");
        Fail(p, " alice@example.ORG", "s2");
        Assert.Equal(-1, Status(p.Answer("allow", Json(Request("alice@example.org")))));
    }

    [Fact]
    public void TheSamePasswordFailingTwiceInOneSessionCountsOnceAndADifferentPasswordCountsAgain()
    {
        var p = Policy(maxPerAccount: 2);
        // A client trying its next SASL mechanism with the same name and password.
        Fail(p, "alice@example.org", "s1", "h1");
        Fail(p, "alice@example.org", "s1", "h1");
        Fail(p, "alice@example.org", "s1", "h1");
        Assert.Equal(0, Status(p.Answer("allow", Json(Request("alice@example.org")))));

        Fail(p, "alice@example.org", "s1", "h2");
        Assert.Equal(-1, Status(p.Answer("allow", Json(Request("alice@example.org")))));
    }

    [Fact]
    public void TheSamePasswordInAnotherSessionCountsAgain()
    {
        var p = Policy(maxPerAccount: 2);
        Fail(p, "alice@example.org", "s1", "h1");
        Fail(p, "alice@example.org", "s2", "h1");
        Assert.Equal(-1, Status(p.Answer("allow", Json(Request("alice@example.org")))));
    }

    [Fact]
    public void WithoutASessionEveryFailureCounts()
    {
        var p = Policy(maxPerAccount: 2);
        Assert.Equal(0, Status(p.Answer("report", Json(Report("alice@example.org", false, session: null)))));
        Assert.Equal(0, Status(p.Answer("report", Json(Report("alice@example.org", false, session: "")))));
        Assert.Equal(-1, Status(p.Answer("allow", Json(Request("alice@example.org")))));
    }

    [Fact]
    public void AReportOfALoginThePolicyRefusedIsNotCounted()
    {
        var p = Policy(maxPerAccount: 1);
        for (int i = 0; i < 5; i++)
            Assert.Equal(0, Status(p.Answer("report", Json(Report("alice@example.org", false, session: "s" + i, policyReject: true)))));
        Assert.Equal(0, Status(p.Answer("allow", Json(Request("alice@example.org")))));
    }

    [Fact]
    public void FailuresFromOneAddressBlockItForEveryAccount()
    {
        var p = Policy(maxPerIp: 2);
        Fail(p, "alice@example.org", "s1");
        Fail(p, "bob@example.org", "s2");
        Assert.Equal(-1, Status(p.Answer("allow", Json(Request("carol@example.org")))));
        Assert.Equal(0, Status(p.Answer("allow", Json(Request("carol@example.org", remote: "192.0.2.11")))));
    }

    [Fact]
    public void ASuccessfulLoginForgivesItsAddressTheEarlierFailures()
    {
        var p = Policy(maxPerIp: 2);
        Fail(p, "alice@example.org", "s1");
        Assert.Equal(0, Status(p.Answer("report", Json(Report("bob@example.org", true, session: "s2")))));
        Fail(p, "alice@example.org", "s3");
        // Without the success these were two failures from the address: blocked.
        Assert.Equal(0, Status(p.Answer("allow", Json(Request("carol@example.org")))));
        Fail(p, "alice@example.org", "s4");
        Assert.Equal(-1, Status(p.Answer("allow", Json(Request("carol@example.org")))));
    }

    [Fact]
    public async Task FailuresDovecotReportsBlockSubmissionLoginsAsWell()
    {
        var authenticator = new AccountAuthenticator(_store.Mailboxes, new AuthOptions { FailureDelay = "0s", MaxFailuresPerAccount = 2 }, TimeProvider.System, NullLogger.Instance);
        var p = new DovecotAuthPolicy(authenticator);
        Fail(p, "alice@example.org", "s1");
        Fail(p, "alice@example.org", "s2");
        var (result, _) = await authenticator.LoginAsync("alice@example.org", "anything", "203.0.113.5", "PLAIN", TestContext.Current.CancellationToken);
        Assert.Equal(LoginResult.Blocked, result);
    }

    [Theory]
    [InlineData("""{"remote":"192.0.2.10","protocol":"imap"}""")]
    [InlineData("""{"login":"alice@example.org","protocol":"imap"}""")]
    [InlineData("""{"login":42,"remote":"192.0.2.10"}""")]
    [InlineData("""{"login":"alice@example.org","remote":null}""")]
    [InlineData("""{"login":{"a":1},"remote":"192.0.2.10"}""")]
    [InlineData("[]")]
    [InlineData("""["allow"]""")]
    [InlineData("\"allow\"")]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("true")]
    public void ARequestWithoutLoginAndRemoteOrNotAnObjectHasNoAnswer(string json)
    {
        var p = Policy();
        Assert.Null(p.Answer("allow", Json(json)));
        Assert.Null(p.Answer("report", Json(json)));
    }

    [Fact]
    public void AnOverlongLoginHasNoAnswer()
    {
        Assert.Null(Policy().Answer("allow", Json(Request(new string('a', 600) + "@example.org"))));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("deny")]
    [InlineData("ALLOW")]
    [InlineData("allow ")]
    public void AnUnknownCommandHasNoAnswerAndCountsNothing(string? command)
    {
        var p = Policy(maxPerAccount: 1);
        Assert.Null(p.Answer(command, Json(Report("alice@example.org", false))));
        Assert.Equal(0, Status(p.Answer("allow", Json(Request("alice@example.org")))));
    }

    [Fact]
    public void AReportWithSuccessNotABooleanTrueIsAFailure()
    {
        // Dovecot sends JSON booleans; "true" as a string proves nothing.
        var p = Policy(maxPerAccount: 1);
        var o = System.Text.Json.Nodes.JsonNode.Parse(Report("alice@example.org", false))!.AsObject();
        o["success"] = "true";
        Assert.Equal(0, Status(p.Answer("report", Json(o.ToJsonString()))));
        Assert.Equal(-1, Status(p.Answer("allow", Json(Request("alice@example.org")))));
    }
}
