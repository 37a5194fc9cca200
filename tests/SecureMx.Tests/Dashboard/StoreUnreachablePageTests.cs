using System.Globalization;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using SecureMx.Dashboard;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dashboard;

/// <summary>A page whose store cannot be reached is a 503 that says so, not a 500; other errors are left alone.</summary>
public sealed class StoreUnreachablePageTests
{
    private readonly ListLogger _log = new();

    /// <summary>What Npgsql throws when the server refuses the connection (PostgreSQL stopped).</summary>
    private static NpgsqlException Refused() => new("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused));

    private static DefaultHttpContext Context()
    {
        var services = new ServiceCollection().AddLogging().AddLocalization().BuildServiceProvider();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.Method = "GET";
        context.Request.Path = "/log";
        context.Response.Body = new MemoryStream();
        return context;
    }

    private static string Body(HttpContext context)
    {
        context.Response.Body.Position = 0;
        return new StreamReader(context.Response.Body).ReadToEnd();
    }

    [Fact]
    public async Task A_request_whose_store_is_unreachable_gets_503_with_the_page_and_retry_after()
    {
        var context = Context();
        await StoreUnreachablePage.Handle(context, () => throw Refused(), _log);

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, context.Response.StatusCode);
        Assert.Equal("60", context.Response.Headers.RetryAfter.ToString());
        Assert.StartsWith("text/html", context.Response.ContentType, StringComparison.Ordinal);
        Assert.Contains("The store is unreachable", Body(context), StringComparison.Ordinal);
        Assert.Contains("try again in a minute", Body(context), StringComparison.Ordinal);
        Assert.Contains(_log.Lines, l => l.StartsWith("Warning: dashboard GET /log: the store is unreachable", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_page_is_in_the_request_language_and_found_inside_a_wrapping_exception()
    {
        var context = Context();
        var before = CultureInfo.CurrentUICulture;
        CultureInfo.CurrentUICulture = new CultureInfo("de");
        try
        {
            await StoreUnreachablePage.Handle(context, () => throw new InvalidOperationException("session check failed", Refused()), _log);
        }
        finally
        {
            CultureInfo.CurrentUICulture = before;
        }
        Assert.Equal(StatusCodes.Status503ServiceUnavailable, context.Response.StatusCode);
        Assert.Contains("Die Datenbank ist nicht erreichbar", Body(context), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_session_check_that_could_not_reach_the_store_turns_the_login_redirect_into_503()
    {
        var context = Context();
        await StoreUnreachablePage.Handle(context, () =>
        {
            // What the pipeline does after DashboardSession.ValidateAsync remembered the failure: the challenge.
            StoreUnreachablePage.Remember(context, Refused());
            context.Response.StatusCode = StatusCodes.Status302Found;
            context.Response.Headers.Location = "/login?ReturnUrl=%2Flog";
            return Task.CompletedTask;
        }, _log);

        Assert.Equal(StatusCodes.Status503ServiceUnavailable, context.Response.StatusCode);
        Assert.Empty(context.Response.Headers.Location.ToString());
        Assert.Contains("The store is unreachable", Body(context), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Any_other_error_passes_through()
    {
        var context = Context();
        await Assert.ThrowsAsync<InvalidOperationException>(() => StoreUnreachablePage.Handle(context, () => throw new InvalidOperationException("a bug"), _log));
        Assert.Equal(StatusCodes.Status200OK, context.Response.StatusCode);
    }
}
