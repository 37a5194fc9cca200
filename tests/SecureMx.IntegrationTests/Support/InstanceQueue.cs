using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// What delivery tests ask of a running instance's queue and delivery log through the CLI: `queue list --json`,
/// one recipient's entry, waiting for a deferral, and `securemx log` once the awaited line was written.
/// </summary>
public static class InstanceQueue
{
    /// <summary>The queue as `securemx queue list --json` shows it.</summary>
    public static async Task<JsonArray> QueueListAsync(this SecureMxInstance mx)
    {
        var r = await mx.Cli("queue", "list", "--json");
        Assert.True(r.ExitCode == 0, r.All);
        return JsonNode.Parse(r.StdOut)!.AsArray();
    }

    /// <summary>The queue entry of <paramref name="recipient"/> of message <paramref name="id"/>, or null once it left the queue.</summary>
    public static JsonObject? QueuedRecipient(JsonArray queue, string id, string recipient) =>
        queue.SingleOrDefault(m => (string?)m!["id"] == id)?["recipients"]!.AsArray()
            .SingleOrDefault(r => (string?)r!["address"] == recipient)?.AsObject();

    /// <inheritdoc cref="QueuedRecipient"/>
    public static async Task<JsonObject?> QueuedRecipientAsync(this SecureMxInstance mx, string id, string recipient) =>
        QueuedRecipient(await mx.QueueListAsync(), id, recipient);

    /// <summary>Waits until <paramref name="recipient"/> of message <paramref name="id"/> is deferred with a last error; returns that error.</summary>
    public static async Task<string> WaitForDeferredAsync(this SecureMxInstance mx, string id, string recipient, TimeSpan wait)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            var queue = await mx.QueueListAsync();
            if (QueuedRecipient(queue, id, recipient) is { } rcpt && (string?)rcpt["state"] == "deferred" && rcpt["lastError"] is { } e) return (string)e!;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{id} to {recipient} not deferred; queue:\n{queue}\nlog:\n{mx.Log}");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// The delivery log lines (`securemx log ARGS`) once one matches <paramref name="expect"/>, or after 10 s
    /// whatever they are (rows are written in batches; the caller's assertion says what was missing).
    /// </summary>
    public static async Task<string> DeliveryLogAsync(this SecureMxInstance mx, string expect, params string[] args)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var log = (await mx.Cli(["log", .. args])).StdOut;
            if (Regex.IsMatch(log, expect) || DateTime.UtcNow > deadline) return log;
            await Task.Delay(100);
        }
    }
}
