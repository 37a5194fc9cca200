using System.Diagnostics;
using System.Net;
using System.Text;
using SmtpLoad;

// smtpload send ADDR:PORT --sessions N --messages M [--size BYTES] [--per-connection K] [--starttls]
//                         [--auth USER:PASSWORD] [--from A] [--to B]
//   N parallel sessions send M messages in all, K per connection (default 1: one message per connection,
//   as smtp-source without -d). Prints one line: messages, failures, seconds, msgs_per_s, client_cpu_ms.
// smtpload idle ADDR:PORT --sessions N
//   Opens N sessions that each say EHLO and stay idle; prints "open N" once all are, waits for a line
//   (or end of input) on stdin, closes them all and prints "closed".
if (args.Length < 2 || (args[0] != "send" && args[0] != "idle"))
{
    Console.Error.WriteLine("usage: smtpload send|idle ADDR:PORT [options] (see Program.cs)");
    return 2;
}
var server = IPEndPoint.Parse(args[1]);
var opt = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 2; i < args.Length; i++)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal)) { Console.Error.WriteLine("unexpected: " + args[i]); return 2; }
    var isFlag = i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal);
    opt[args[i][2..]] = isFlag ? "" : args[++i];
}
int Int(string name, int dflt) => opt.TryGetValue(name, out var v) ? int.Parse(v) : dflt;
var sessions = Int("sessions", 20);
using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(30));
var ct = cts.Token;

if (args[0] == "idle") return await Idle();
return await Send();

async Task<int> Send()
{
    var total = Int("messages", 1000);
    var perConnection = Math.Max(1, Int("per-connection", 1));
    var size = Int("size", 4096);
    var from = opt.GetValueOrDefault("from", "sender@bench.test");
    var to = opt.GetValueOrDefault("to", "user@bench.test");
    var startTls = opt.ContainsKey("starttls");
    string? authPlain = opt.TryGetValue("auth", out var a)
        ? Convert.ToBase64String(Encoding.UTF8.GetBytes("\0" + a.Replace(':', '\0')))
        : null;
    var body = Message(from, to, size);
    var next = 0;
    var failures = 0;
    string? firstError = null;
    var sw = Stopwatch.StartNew();

    async Task Worker()
    {
        while (Volatile.Read(ref next) < total)
        {
            try
            {
                await using var c = await SmtpConnection.OpenAsync(server, ct);
                Expect(await c.ReadReplyAsync(ct), 220, "greeting");
                Expect(await c.CommandAsync("EHLO bench-client.test", ct), 250, "EHLO");
                if (startTls)
                {
                    Expect(await c.CommandAsync("STARTTLS", ct), 220, "STARTTLS");
                    await c.StartTlsAsync("bench.securemx.test", ct);
                    Expect(await c.CommandAsync("EHLO bench-client.test", ct), 250, "EHLO after TLS");
                }
                if (authPlain is not null) Expect(await c.CommandAsync("AUTH PLAIN " + authPlain, ct), 235, "AUTH");
                for (var k = 0; k < perConnection; k++)
                {
                    if (Interlocked.Increment(ref next) > total) break;
                    if (k > 0) Expect(await c.CommandAsync("RSET", ct), 250, "RSET");
                    Expect(await c.CommandAsync($"MAIL FROM:<{from}>", ct), 250, "MAIL");
                    Expect(await c.CommandAsync($"RCPT TO:<{to}>", ct), 250, "RCPT");
                    Expect(await c.CommandAsync("DATA", ct), 354, "DATA");
                    Expect(await c.SendDataAsync(body, ct), 250, "end of data");
                }
                await c.CommandAsync("QUIT", ct);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or System.Net.Sockets.SocketException
                                          or System.Security.Authentication.AuthenticationException)
            {
                // A message whose 250 did not come counts as failed (not retried); the run then fails visibly.
                Interlocked.Increment(ref failures);
                Interlocked.CompareExchange(ref firstError, e.Message, null);
                if (Volatile.Read(ref failures) > 100) throw;
            }
        }
    }

    await Task.WhenAll(Enumerable.Range(0, sessions).Select(_ => Task.Run(Worker, ct)));
    var seconds = sw.Elapsed.TotalSeconds;
    var cpuMs = Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;
    Console.WriteLine(FormattableString.Invariant(
        $"messages={total} failures={failures} seconds={seconds:F3} msgs_per_s={total / seconds:F1} client_cpu_ms={cpuMs:F0}"));
    if (firstError is not null) Console.Error.WriteLine("first error: " + firstError);
    return failures == 0 ? 0 : 1;
}

async Task<int> Idle()
{
    var open = new List<SmtpConnection>(sessions);
    using var gate = new SemaphoreSlim(200); // connects in flight, so the listen backlog never overflows
    var failed = 0;
    var tasks = Enumerable.Range(0, sessions).Select(async _ =>
    {
        await gate.WaitAsync(ct);
        try
        {
            var c = await SmtpConnection.OpenAsync(server, ct);
            try
            {
                Expect(await c.ReadReplyAsync(ct), 220, "greeting");
                Expect(await c.CommandAsync("EHLO bench-client.test", ct), 250, "EHLO");
                lock (open) open.Add(c);
            }
            catch
            {
                await c.DisposeAsync();
                throw;
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or System.Net.Sockets.SocketException)
        {
            if (Interlocked.Increment(ref failed) == 1) Console.Error.WriteLine("first error: " + e.Message);
        }
        finally
        {
            gate.Release();
        }
    }).ToList();
    await Task.WhenAll(tasks);
    Console.WriteLine($"open {open.Count} failed {failed}");
    await Console.In.ReadLineAsync(ct);
    foreach (var c in open) await c.DisposeAsync();
    Console.WriteLine("closed");
    return failed == 0 ? 0 : 1;
}

static void Expect(int code, int expected, string step)
{
    if (code != expected) throw new InvalidOperationException($"{step}: {code}, expected {expected}");
}

// A message of about SIZE bytes (headers plus 76-character body lines), dot-terminated for DATA.
static byte[] Message(string from, string to, int size)
{
    var sb = new StringBuilder();
    sb.Append("From: <").Append(from).Append(">\r\nTo: <").Append(to).Append(">\r\n")
      .Append("Subject: bench\r\nDate: Sat, 5 Dec 2026 00:00:00 +0000\r\nMessage-ID: <bench@bench-client.test>\r\n\r\n");
    var line = new string('x', 76) + "\r\n";
    while (sb.Length + line.Length <= size) sb.Append(line);
    sb.Append(".\r\n");
    return Encoding.ASCII.GetBytes(sb.ToString());
}
