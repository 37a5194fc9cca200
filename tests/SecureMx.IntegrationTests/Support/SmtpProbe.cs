using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// Asks an MX listener, in plaintext and in a session of its own each time, what it answers to one
/// RCPT TO: what a sending server would see at that moment. Also sends whole messages the same way.
/// </summary>
public static class SmtpProbe
{
    /// <summary>The reply to <c>RCPT TO:&lt;<paramref name="recipient"/>&gt;</c> after EHLO and MAIL FROM, or "(…)" when the session broke.</summary>
    public static async Task<string> RcptAsync(IPEndPoint mx, string recipient, string sender = "probe@outside.test")
    {
        try
        {
            await using var s = await RawSmtp.ConnectAsync(mx);
            var greeting = string.Join("\n", await s.ReadReplyAsync(TimeSpan.FromSeconds(10)));
            if (!greeting.StartsWith("220", StringComparison.Ordinal)) return greeting;
            await s.CommandAsync("EHLO probe.outside.test");
            var mail = await s.CommandAsync($"MAIL FROM:<{sender}>");
            if (!mail.StartsWith("250", StringComparison.Ordinal)) return mail;
            var rcpt = await s.CommandAsync($"RCPT TO:<{recipient}>");
            await s.SendAsync("QUIT\r\n");
            return rcpt;
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
        {
            return $"({ex.GetType().Name}: {ex.Message})";
        }
    }

    /// <summary>
    /// Asks <paramref name="mx"/> until its RCPT reply satisfies <paramref name="done"/>; returns the time
    /// from <paramref name="since"/> to the first such reply, and that reply. Fails after <paramref name="timeout"/>.
    /// </summary>
    public static async Task<(TimeSpan Delay, string Reply)> WaitForRcptAsync(IPEndPoint mx, string recipient, Func<string, bool> done, Stopwatch since, TimeSpan timeout)
    {
        var deadline = since.Elapsed + timeout;
        string last;
        while (true)
        {
            last = await RcptAsync(mx, recipient);
            if (done(last)) return (since.Elapsed, last);
            if (since.Elapsed > deadline) throw new TimeoutException($"{Net.Text(mx)}: RCPT TO:<{recipient}> still answers '{last}' after {timeout.TotalSeconds} s");
            await Task.Delay(20);
        }
    }

    /// <summary>The outcome of one message sent in a session of its own: every reply, and whether the data got its 250.</summary>
    public sealed record Transaction(IReadOnlyList<string> Replies, bool Acknowledged)
    {
        public bool AnyPermanentFailure => Replies.Any(r => r.StartsWith('5'));
        public override string ToString() => string.Join(" | ", Replies);
    }

    /// <summary>EHLO <paramref name="helo"/>, MAIL, RCPT, DATA with a small message carrying <paramref name="token"/>; stops at the first reply that is not a success.</summary>
    public static async Task<Transaction> SendAsync(IPEndPoint mx, string sender, string recipient, string token, string helo = "client.outside.test")
    {
        var replies = new List<string>();
        try
        {
            await using var s = await RawSmtp.ConnectAsync(mx);
            replies.Add(string.Join("\n", await s.ReadReplyAsync(TimeSpan.FromSeconds(30))));
            if (!replies[^1].StartsWith("220", StringComparison.Ordinal)) return new(replies, false);
            foreach (var (command, expect) in new[] { ($"EHLO {helo}", "250"), ($"MAIL FROM:<{sender}>", "250"), ($"RCPT TO:<{recipient}>", "250"), ("DATA", "354") })
            {
                replies.Add(await s.CommandAsync(command));
                if (!replies[^1].StartsWith(expect, StringComparison.Ordinal)) return new(replies, false);
            }
            replies.Add(await s.CommandAsync(
                $"From: <{sender}>\r\nTo: <{recipient}>\r\nSubject: {token}\r\nMessage-ID: <{token}@outside.test>\r\n\r\nbody {token}\r\n."));
            var acknowledged = replies[^1].StartsWith("250", StringComparison.Ordinal);
            try { await s.SendAsync("QUIT\r\n"); } catch (IOException) { }
            return new(replies, acknowledged);
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
        {
            // A broken session after the data was sent but before its reply: not acknowledged.
            replies.Add($"({ex.GetType().Name}: {ex.Message})");
            return new(replies, false);
        }
    }
}
