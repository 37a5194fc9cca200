using System.Net;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Config;
using SecureMx.Hosting;
using SecureMx.Mail;
using SecureMx.Smtp;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Telemetry;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Hosting;

/// <summary>
/// The metrics listener in-process: nothing unless listeners.metrics names an address; /metrics in
/// the Prometheus text format with SecureMx's series; /health 503 with the reason until every listener
/// is bound and whenever the store, the queue database or the spool cannot be written; a taken port
/// is a start-up error naming the key.
/// </summary>
[Collection(QueueGaugesCollection.Name)]
public sealed class MetricsServiceTests : IDisposable
{
    private readonly TestStore _store = new();
    private readonly MessageSpool _spool;
    private readonly Lifetime _lifetime = new();

    public MetricsServiceTests()
    {
        _spool = new MessageSpool(Path.Combine(_store.DataDirectory, "spool"), TimeProvider.System, NullLogger.Instance);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _spool.Dispose();
        _store.Dispose();
    }

    private sealed class Lifetime : IHostApplicationLifetime
    {
        public readonly CancellationTokenSource Started = new(), Stopping = new(), Stopped = new();
        public CancellationToken ApplicationStarted => Started.Token;
        public CancellationToken ApplicationStopping => Stopping.Token;
        public CancellationToken ApplicationStopped => Stopped.Token;
        public void StopApplication() => Stopping.Cancel();
    }

    private MetricsService Service(string endpoint) =>
        new(_store.DataDirectory, new SecureMxOptions { Listeners = { Metrics = endpoint } }, _spool, _lifetime, TimeProvider.System, NullLoggerFactory.Instance);

    private static IPEndPoint FreeLoopbackEndpoint()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (IPEndPoint)s.LocalEndPoint!;
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task OffStartsNoListener()
    {
        await using var service = Service("off");
        await service.StartAsync(Ct);
        await service.StopAsync(Ct);
    }

    [Fact]
    public async Task MetricsAreServedInThePrometheusTextFormatAndCountersMove()
    {
        var ep = FreeLoopbackEndpoint();
        await using var service = Service($"127.0.0.1:{ep.Port}");
        await service.StartAsync(Ct);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ep.Port}/") };

        SecureMxMetrics.DsnsSent.Add(1, new KeyValuePair<string, object?>("action", "unit-test"));
        var before = await client.GetStringAsync("metrics", Ct);
        SecureMxMetrics.DsnsSent.Add(2, new KeyValuePair<string, object?>("action", "unit-test"));
        using var response = await client.GetAsync("metrics", Ct);
        var after = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("# TYPE securemx_dsn_sent_total counter", after);
        Assert.Equal(SampleValue(before, "securemx_dsn_sent_total{action=\"unit-test\"}") + 2, SampleValue(after, "securemx_dsn_sent_total{action=\"unit-test\"}"));
        // The queue gauges come from the summary taken at start: an empty queue, every reason class at 0.
        Assert.Contains("securemx_queue_recipients{state=\"queued\"} 0", after);
        Assert.Contains("securemx_queue_deferred{reason=\"dns\"} 0", after);
        Assert.Contains("# TYPE securemx_queue_oldest_deferred_age_seconds gauge", after);
        await service.StopAsync(Ct);
    }

    private static double SampleValue(string text, string series)
    {
        var line = text.Split('\n').Single(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return double.Parse(line[(series.Length + 1)..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task HealthIsReadyOnlyOnceTheHostHasStartedAndLiveAtOnce()
    {
        var ep = FreeLoopbackEndpoint();
        await using var service = Service($"127.0.0.1:{ep.Port}");
        await service.StartAsync(Ct);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ep.Port}/") };

        using (var live = await client.GetAsync("health/live", Ct)) Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        using (var starting = await client.GetAsync("health", Ct))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, starting.StatusCode);
            Assert.StartsWith("starting", await starting.Content.ReadAsStringAsync(Ct));
        }
        _lifetime.Started.Cancel();
        await Task.Delay(Readiness.CacheFor + TimeSpan.FromMilliseconds(100), Ct);
        using (var ready = await client.GetAsync("health", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal("ready\n", await ready.Content.ReadAsStringAsync(Ct));
        }
        using (var other = await client.GetAsync("anything-else", Ct)) Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        await service.StopAsync(Ct);
    }

    [Fact]
    public void ReadinessNamesAMissingStoreAndASpoolDirectoryThatIsGone()
    {
        bool started = true;
        var readiness = new Readiness(_store.DataDirectory, _spool, () => started, () => false, TimeProvider.System);
        Assert.Empty(readiness.Check());

        SqliteConnection.ClearAllPools();
        var store = Path.Combine(_store.DataDirectory, StoreDatabase.FileName);
        File.Move(store, store + ".away");
        Directory.Delete(_spool.IncomingDirectory);
        var later = new Readiness(_store.DataDirectory, _spool, () => started, () => false, TimeProvider.System);
        var reasons = later.Check();
        File.Move(store + ".away", store);
        Directory.CreateDirectory(_spool.IncomingDirectory);

        Assert.Contains(reasons, r => r.StartsWith("store: securemx.db is missing", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.StartsWith("spool: incoming: not writable", StringComparison.Ordinal));
        Assert.Empty(Directory.GetFiles(_spool.DataDirectory, ".health-*"));
    }

    [Fact]
    public void ABusyQueueDatabaseIsReportedAfterTheShortWaitNotAfterTheDefault30Seconds()
    {
        using var holder = new SqliteConnection($"Data Source={_spool.Queue.DatabasePath};Pooling=False");
        holder.Open();
        using (var begin = holder.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE";
            begin.ExecuteNonQuery();
        }
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var problem = SqliteWriteProbe.Check(_spool.Queue.DatabasePath, busyTimeoutSeconds: 1);
        Assert.Equal("queue.db: busy", problem);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), watch.Elapsed.ToString());
    }

    [Fact]
    public async Task APortInUseIsAListenerStartErrorNamingTheKey()
    {
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();
        var port = ((IPEndPoint)taken.LocalEndPoint!).Port;
        await using var service = Service($"127.0.0.1:{port}");

        var ex = await Assert.ThrowsAsync<ListenerStartException>(() => service.StartAsync(Ct));
        Assert.StartsWith($"listeners.metrics: cannot listen on 127.0.0.1:{port}: ", ex.Message);
    }

    [Fact]
    public void TheSummaryReportsEveryReasonClassAndTheOldestDeferredNotTheOldestQueued()
    {
        var now = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        var snapshot = MetricsService.Summarize(
        [
            (RecipientState.Queued, null, 3, now.AddHours(-5)),
            (RecipientState.Deferred, "dns", 2, now.AddMinutes(-30)),
            (RecipientState.Deferred, "connection", 1, now.AddMinutes(-90)),
        ], now);

        Assert.Equal(3, snapshot.Queued);
        Assert.Equal(3, snapshot.Deferred);
        Assert.Equal(90 * 60, snapshot.OldestDeferredAgeSeconds);
        Assert.Equal(2, snapshot.DeferredByReason["dns"]);
        Assert.All(Enum.GetValues<OutcomeReason>(), r => Assert.True(snapshot.DeferredByReason.ContainsKey(r.Name()), r.Name()));
        Assert.Equal(0, MetricsService.Summarize([], now).OldestDeferredAgeSeconds);
    }

    [Fact]
    public void FreeSpaceIsPublishedAlsoWithTheFreeSpaceGuardOff()
    {
        Assert.False(_spool.FreeSpace.Enabled);
        var seen = new List<long>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (i, l) => { if (i.Meter.Name == SecureMxMetrics.MeterName && i.Name == "securemx.spool.free_bytes") l.EnableMeasurementEvents(i); };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => { lock (seen) seen.Add(value); });
        listener.Start();

        Service("off").Refresh();

        lock (seen) Assert.Contains(seen, v => v > 0);
    }

    [Fact]
    public void AFailingRefreshKeepsTheLastSummaryAndNeverThrows()
    {
        using var dir = new TempDirectory();
        var spool = new MessageSpool(dir.Combine("spool"), TimeProvider.System, NullLogger.Instance);
        var service = new MetricsService(dir.Path, new SecureMxOptions(), spool, _lifetime, TimeProvider.System, NullLoggerFactory.Instance);
        service.Refresh();
        var good = QueueGauges.Current;
        Assert.NotNull(good);
        spool.Dispose();
        SqliteConnection.ClearAllPools();
        File.Delete(spool.Queue.DatabasePath);
        Directory.CreateDirectory(spool.Queue.DatabasePath); // a directory where the database was: every open fails
        service.Refresh();
        Assert.Same(good, QueueGauges.Current);
    }
}

/// <summary>Tests that publish <see cref="QueueGauges"/> (process-wide) run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class QueueGaugesCollection
{
    public const string Name = "queue gauges";
}
