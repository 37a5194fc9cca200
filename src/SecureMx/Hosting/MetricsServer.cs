using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using SecureMx.Telemetry;

namespace SecureMx.Hosting;

/// <summary>
/// The listener of listeners.metrics: <c>GET /metrics</c> in the Prometheus text format, <c>GET /health</c>
/// (ready: 200 "ready", or 503 with the reasons, one a line) and <c>GET /health/live</c> (the process
/// answers: 200). Plain HTTP: it belongs on a loopback address or the scraper's private network, where
/// Prometheus scrapes without TLS by default; nothing on it is secret or changes state. Any other path
/// is 404; request bodies are not read.
/// <para>
/// The exporter is OpenTelemetry's (OpenTelemetry.Exporter.Prometheus.AspNetCore), reading the
/// <see cref="SecureMxMetrics.Meter"/> natively: counters stay counters (<c>_total</c>), the unit becomes
/// the suffix (<c>_seconds</c>, <c>_bytes</c>), and synchronous gauges (<c>Gauge&lt;T&gt;</c>) are exported.
/// prometheus-net's MeterAdapter was the other candidate: it publishes .NET counters as Prometheus
/// gauges, drops <c>Gauge&lt;T&gt;</c>, and expires a series not updated for 5 minutes — the rare-event
/// counters an operator alerts on. The exporter package is a pre-release (the whole of OpenTelemetry's
/// Prometheus exporter has always been one); it is pinned, and the integration test parses its output
/// with the Prometheus project's own text-format parser.
/// </para>
/// </summary>
public static class MetricsServer
{
    public const string MetricsPath = "/metrics";

    /// <summary>Connections at once: a few scrapers and a load balancer's health checks.</summary>
    public const int MaxConnections = 64;
    public const string HealthPath = "/health";
    public const string LivePath = "/health/live";

    /// <param name="readiness">The checks behind /health.</param>
    public static (WebApplication App, MeterProvider Meters) Build(IPEndPoint endpoint, Readiness readiness, ILoggerFactory logs)
    {
        var meters = Sdk.CreateMeterProviderBuilder()
            .AddMeter(SecureMxMetrics.MeterName)
            .AddPrometheusExporter(o =>
            {
                // Every scrape sees the counters as they are now (a second scraper or a test reads no stale copy).
                o.ScrapeResponseCacheDurationMilliseconds = 0;
                // One meter: an otel_scope_name label on every series and a target_info series add nothing.
                o.ScopeInfoEnabled = false;
                o.TargetInfoEnabled = false;
            })
            .Build();
        var app = WebEndpoint.CreateBuilder(endpoint, logs, maxRequestBodySize: 0, maxConnections: MaxConnections).Build();
        app.UseRouting();
        app.MapPrometheusScrapingEndpoint(MetricsPath, meters, null, null);
        app.MapGet(HealthPath, (HttpContext http) =>
        {
            http.Response.Headers.CacheControl = "no-store";
            var reasons = readiness.Check();
            return reasons.Count == 0
                ? Results.Text("ready\n", "text/plain; charset=utf-8", statusCode: StatusCodes.Status200OK)
                : Results.Text(string.Concat(reasons.Select(r => r + "\n")), "text/plain; charset=utf-8", statusCode: StatusCodes.Status503ServiceUnavailable);
        });
        app.MapGet(LivePath, (HttpContext http) =>
        {
            http.Response.Headers.CacheControl = "no-store";
            return Results.Text("alive\n", "text/plain; charset=utf-8");
        });
        return (app, meters);
    }
}
