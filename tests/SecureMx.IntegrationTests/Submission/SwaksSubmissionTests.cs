using System.Text;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Submission;

/// <summary>swaks submits with AUTH PLAIN and LOGIN: STARTTLS on the submission port, implicit TLS on the submissions port.</summary>
public sealed class SwaksSubmissionTests(SubmissionFixture f) : IClassFixture<SubmissionFixture>
{
    private const string Alice = "alice@example.test";
    private const string Bob = "bob@example.test";
    private SecureMxInstance Mx => f.Mx;

    /// <summary>swaks from alice to bob; <paramref name="implicitTls"/> picks the port and --tlsc, else --tls.</summary>
    private Task<ProcessResult> SwaksAsync(bool implicitTls, string mechanism, string password, string token)
    {
        Assert.True(Run.Exists("swaks"), "swaks is not installed: run scripts/install-test-deps.sh");
        return Run.ProcessAsync("swaks", [
            "--server", Net.Text(implicitTls ? Mx.Submissions! : Mx.Submission!), implicitTls ? "--tlsc" : "--tls",
            "--auth", mechanism, "--auth-user", Alice, "--auth-password", password,
            "--from", Alice, "--to", Bob, "--ehlo", "laptop.example.test",
            "--header", $"Subject: {token}", "--body", $"body of {token}",
        ]);
    }

    [Theory]
    [InlineData(false, "PLAIN")]
    [InlineData(false, "LOGIN")]
    [InlineData(true, "PLAIN")]
    [InlineData(true, "LOGIN")]
    public async Task AuthenticatedSubmissionIsDeliveredWithEsmtpsa(bool implicitTls, string mechanism)
    {
        var token = SubmissionClient.Token();
        var r = await SwaksAsync(implicitTls, mechanism, SubmissionClient.Password, token);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Matches(@"TLS started with cipher TLSv1\.[23]:", r.All);
        Assert.Contains("235 2.7.0", r.StdOut);
        Assert.Contains("250 2.0.0 Ok: queued as", r.StdOut);

        var (trace, original) = SecureMxInstance.SplitDelivered(await Mx.WaitForMessageAsync(Bob, token));
        Assert.StartsWith($"Return-Path: <{Alice}>\r\nReceived: from laptop.example.test ([127.0.0.1])\r\n", trace);
        Assert.Contains("(using TLSv1.", trace);
        Assert.Contains(" with ESMTPSA id ", trace);
        Assert.Contains($"Subject: {token}\r\n", Encoding.UTF8.GetString(original));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WrongPasswordMakesSwaksFailWith535(bool implicitTls)
    {
        var r = await SwaksAsync(implicitTls, "PLAIN", "not-the-password", SubmissionClient.Token());
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("535 5.7.8", r.All);
        Assert.DoesNotContain("235 ", r.All);
        Assert.DoesNotContain("queued as", r.All);
    }
}
