using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace SecureMx.Hosting;

/// <summary>
/// The console logger with its lines written in batches (<see cref="ConsoleLineWriter"/>): it formats each
/// line with the formatter the console logger would use (<c>simple</c>, one line, UTC time stamps; <c>systemd</c>
/// under systemd, set by <c>AddSystemd</c>), on the logging thread, and hands the text to the writer.
/// The filters of the logging builder apply to it as to the console logger (alias <c>Console</c>).
/// </summary>
[ProviderAlias("Console")]
internal sealed class BatchedConsoleLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private readonly ConsoleFormatter _formatter;
    private readonly ConsoleLineWriter _writer;
    private readonly ConcurrentDictionary<string, Logger> _loggers = new(StringComparer.Ordinal);
    private IExternalScopeProvider? _scopes;

    public BatchedConsoleLoggerProvider(IOptions<ConsoleLoggerOptions> options, IEnumerable<ConsoleFormatter> formatters)
        : this(options.Value.FormatterName, formatters, new ConsoleLineWriter(Console.OpenStandardOutput()))
    {
        // Lines still pending when the process ends without the host's shutdown (Environment.Exit, a crash).
        AppDomain.CurrentDomain.ProcessExit += FlushOnExit;
        AppDomain.CurrentDomain.UnhandledException += FlushOnExit;
    }

    internal BatchedConsoleLoggerProvider(string? formatterName, IEnumerable<ConsoleFormatter> formatters, ConsoleLineWriter writer)
    {
        var all = formatters.ToList();
        _formatter = all.FirstOrDefault(f => string.Equals(f.Name, formatterName ?? ConsoleFormatterNames.Simple, StringComparison.OrdinalIgnoreCase))
            ?? all.FirstOrDefault(f => f.Name == ConsoleFormatterNames.Simple)
            ?? throw new InvalidOperationException($"no console formatter named '{formatterName}'");
        _writer = writer;
    }

    internal string FormatterName => _formatter.Name;

    public ILogger CreateLogger(string categoryName) => _loggers.GetOrAdd(categoryName, name => new Logger(name, this));

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
        AppDomain.CurrentDomain.ProcessExit -= FlushOnExit;
        AppDomain.CurrentDomain.UnhandledException -= FlushOnExit;
        _writer.Dispose();
    }

    private void FlushOnExit(object? sender, EventArgs e) => _writer.Flush();

    private sealed class Logger(string category, BatchedConsoleLoggerProvider provider) : ILogger
    {
        [ThreadStatic] private static StringWriter? t_text;

        // The logger factory keeps scopes itself for a provider with an external scope provider; null: none.
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => provider._scopes?.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var text = t_text ??= new StringWriter(CultureInfo.InvariantCulture);
            var entry = new LogEntry<TState>(logLevel, category, eventId, state, exception, formatter);
            provider._formatter.Write(in entry, provider._scopes, text);
            var built = text.GetStringBuilder();
            if (built.Length == 0) return;
            var line = built.ToString();
            built.Clear();
            if (built.Capacity > 1024) built.Capacity = 1024; // one long exception does not pin its buffer on this thread
            provider._writer.Enqueue(line);
        }
    }
}
