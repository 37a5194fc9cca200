using Microsoft.Playwright;

namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// One headless Debian Chromium (scripts/install-test-deps.sh) per test class, driven by Playwright;
/// each test gets its own context (cookies, language) from <see cref="NewPageAsync"/>. Launching is
/// the expensive part (seconds); a context costs milliseconds.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    /// <summary>Debian's wrapper script; the binary behind it is /usr/lib/chromium/chromium.</summary>
    public static readonly string[] Executables = ["/usr/bin/chromium", "/usr/lib/chromium/chromium"];

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("the browser did not start");

    public async ValueTask InitializeAsync()
    {
        var executable = Executables.FirstOrDefault(File.Exists);
        Assert.True(executable is not null, "Chromium is missing: run scripts/install-test-deps.sh (packages chromium, fonts-liberation)");
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            // Without ExecutablePath Playwright looks for a browser build of its own, which is never downloaded here.
            ExecutablePath = executable,
            Headless = true,
            // Root has no user namespace sandbox in containers; the rest keeps Chromium from calling home.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    /// <summary>
    /// A fresh context (no cookies) with one page. The dashboard's certificate is the instance's
    /// self-signed one, hence IgnoreHTTPSErrors; the locale is fixed so that the language a page
    /// shows does not depend on the machine.
    /// </summary>
    public async Task<BrowserSession> NewPageAsync(string baseUrl, string locale = "en-US")
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            IgnoreHTTPSErrors = true,
            Locale = locale,
            BaseURL = baseUrl,
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
        });
        context.SetDefaultTimeout(15_000);
        return new BrowserSession(context, await context.NewPageAsync());
    }

    /// <summary>Where screenshots go: &lt;repo&gt;/artifacts/screenshots (git-ignored), kept after the run.</summary>
    public static string ScreenshotDir
    {
        get
        {
            var dir = Path.Combine(Run.RepoRoot, "artifacts", "screenshots");
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    /// <summary>A full-page screenshot as artifacts/screenshots/NAME.png; returns its path.</summary>
    public static async Task<string> ScreenshotAsync(IPage page, string name)
    {
        var path = Path.Combine(ScreenshotDir, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        _playwright?.Dispose();
    }
}

/// <summary>A browser context of one test and its page; disposing closes the context.</summary>
public sealed class BrowserSession(IBrowserContext context, IPage page) : IAsyncDisposable
{
    public IBrowserContext Context { get; } = context;
    public IPage Page { get; } = page;

    public ValueTask DisposeAsync() => Context.DisposeAsync();
}
