using System.Threading.Channels;

namespace SecureMx.Queue;

/// <summary>
/// How each worker of a pool takes the next item of the channel they share. Not
/// <see cref="ChannelReader{T}.ReadAllAsync"/>: it waits with <c>WaitToReadAsync</c>, and an unbounded
/// channel wakes every worker waiting that way for each item written, of which one gets it — with the
/// 16 idle local workers of the default configuration, 15 thread-pool dispatches for nothing per message
/// (a trace at one SMTP session: 15.6 work items per accepted message, from the arrival channel's writes).
/// <c>ReadAsync</c> queues its caller, and each item written goes to one waiting caller.
/// </summary>
internal static class ChannelWorkers
{
    /// <summary>
    /// The items, each to this caller alone, until the channel is completed and drained; a channel completed
    /// with an error ends them with it, inside a <see cref="ChannelClosedException"/> (the queue's channels
    /// are completed without one).
    /// </summary>
    public static async IAsyncEnumerable<T> TakeEachAsync<T>(this ChannelReader<T> reader)
    {
        while (true)
        {
            T item;
            try
            {
                item = await reader.ReadAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (ChannelClosedException closed) when (closed.InnerException is null)
            {
                yield break; // completed, nothing left
            }
            yield return item;
        }
    }
}
