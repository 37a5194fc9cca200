using System.Net;
using System.Text;
using System.Text.Json;
using SecureMx.Hosting;

namespace SecureMx.Tests.Hosting;

/// <summary>
/// The HTTP endpoint Dovecot posts its policy requests to: an answer only with the key, only on the
/// one route, only for requests Dovecot sends; everything else is a 4xx and changes nothing, and no
/// input makes it fail with a 500.
/// </summary>
public sealed class DovecotPolicyServerTests(DovecotPolicyServerHost host) : IClassFixture<DovecotPolicyServerHost>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StringContent JsonBody(string json) => new(json, Encoding.UTF8, "application/json");

    private static string Request(string login, bool? success = null, string session = "s1")
    {
        var o = new Dictionary<string, object> { ["login"] = login, ["remote"] = "192.0.2.20", ["protocol"] = "imap", ["session"] = session, ["pwhash"] = "abcd" };
        if (success is { } s)
        {
            o["success"] = s;
            o["policy_reject"] = false;
        }
        return JsonSerializer.Serialize(o);
    }

    private async Task<HttpResponseMessage> PostAsync(string command, HttpContent content, string? key = DovecotPolicyServerHost.Key, string route = DovecotPolicyServer.Route)
    {
        using var client = host.NewClient(key);
        return await client.PostAsync(route.TrimStart('/') + "?command=" + command, content, Ct);
    }

    private async Task<int> AllowStatusAsync(string login)
    {
        using var response = await PostAsync("allow", JsonBody(Request(login)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        return answer.RootElement.GetProperty("status").GetInt32();
    }

    [Fact]
    public async Task AnAllowRequestWithTheKeyIsAnswered200WithStatus0()
    {
        Assert.Equal(0, await AllowStatusAsync("first@example.org"));
    }

    [Fact]
    public async Task ReportedFailuresRefuseTheNextLoginWithStatusMinus1()
    {
        for (int i = 0; i < DovecotPolicyServerHost.MaxFailuresPerAccount; i++)
        {
            using var report = await PostAsync("report", JsonBody(Request("guessed@example.org", success: false, session: "s" + i)));
            Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        }
        Assert.Equal(-1, await AllowStatusAsync("guessed@example.org"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("wrong")]
    [InlineData("00112233445566778899aabbccddeeff")]
    [InlineData(DovecotPolicyServerHost.Key + "0")]
    [InlineData("00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF")]
    public async Task AWrongOrMissingKeyIs401AndCountsNothing(string? key)
    {
        var login = $"keyless-{key?.Length ?? -1}-{key?.GetHashCode() ?? 0}@example.org";
        for (int i = 0; i < DovecotPolicyServerHost.MaxFailuresPerAccount + 1; i++)
        {
            using var report = await PostAsync("report", JsonBody(Request(login, success: false, session: "s" + i)), key);
            Assert.Equal(HttpStatusCode.Unauthorized, report.StatusCode);
        }
        using var allow = await PostAsync("allow", JsonBody(Request(login)), key);
        Assert.Equal(HttpStatusCode.Unauthorized, allow.StatusCode);
        Assert.Equal(0, await AllowStatusAsync(login));
    }

    [Fact]
    public async Task GetOnTheRouteIs405()
    {
        using var client = host.NewClient();
        using var response = await client.GetAsync(DovecotPolicyServer.Route.TrimStart('/') + "?command=allow", Ct);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/dovecot")]
    [InlineData("/dovecot/auth-policy/x")]
    [InlineData("/auth-policy")]
    public async Task AnyOtherRouteIs404(string route)
    {
        using var post = await PostAsync("allow", JsonBody(Request("routes@example.org")), route: route);
        Assert.Equal(HttpStatusCode.NotFound, post.StatusCode);
        using var client = host.NewClient();
        using var get = await client.GetAsync(route.TrimStart('/'), Ct);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task ABodyOfAlmost8KiBIsAnswered()
    {
        var json = $$"""{"login":"padded@example.org","remote":"192.0.2.20","pad":"{{new string('x', 8000)}}"}""";
        Assert.True(Encoding.UTF8.GetByteCount(json) <= 8 * 1024);
        using var response = await PostAsync("allow", JsonBody(json));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ABodyOverEightKiBIs400WhetherItsLengthIsDeclaredOrChunked(bool declaredLength)
    {
        var json = $$"""{"login":"huge@example.org","remote":"192.0.2.20","pad":"{{new string('x', 9000)}}"}""";
        HttpContent content = declaredLength ? JsonBody(json) : new ChunkedContent(Encoding.UTF8.GetBytes(json));
        using var response = await PostAsync("allow", content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("{\"login\":\"a@example.org\",")]
    [InlineData("login=a@example.org&remote=192.0.2.20")]
    [InlineData("{\"login\":\"a@example.org\",\"remote\":\"192.0.2.20\"} trailing")]
    [InlineData("{\"login\":\"a@example.org\",\"remote\":\"192.0.2.20\",}")]
    public async Task MalformedJsonIs400(string body)
    {
        using var response = await PostAsync("allow", JsonBody(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task JsonNestedDeeperThanTheParserAllowsIs400()
    {
        using var response = await PostAsync("allow", JsonBody(new string('[', 1000) + new string(']', 1000)));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("42")]
    [InlineData("{}")]
    [InlineData("{\"login\":\"a@example.org\"}")]
    public async Task JsonThatIsNotDovecotsRequestIs400(string body)
    {
        using var response = await PostAsync("allow", JsonBody(body));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("deny")]
    [InlineData("")]
    [InlineData("allow&command=report")]
    public async Task AnUnknownCommandIs400(string command)
    {
        using var response = await PostAsync(command, JsonBody(Request("commands@example.org")));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task WithoutACommandItIs400()
    {
        using var client = host.NewClient();
        using var response = await client.PostAsync(DovecotPolicyServer.Route.TrimStart('/'), JsonBody(Request("nocommand@example.org")), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    /// <summary>A body sent with Transfer-Encoding: chunked (its length is not known up front).</summary>
    private sealed class ChunkedContent(byte[] bytes) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
