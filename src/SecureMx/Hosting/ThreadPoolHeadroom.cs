using SecureMx.Config;

namespace SecureMx.Hosting;

/// <summary>
/// Room in the thread pool for the Maildir deliveries. They block a pool thread in write(2) and fsync(2)
/// (<see cref="Delivery.MaildirDelivery"/>: the kernel has no readiness for files, so an asynchronous file
/// write would be a pool thread blocking all the same). The pool starts with one worker per core and adds
/// one when its queue has not moved for about half a second or its hill climbing sees more throughput:
/// a burst of deliveries holds the few workers in fsync while the others' continuations (the queue's
/// commits, the next deliveries) wait, and delivery.localConcurrency is never reached (issue 18: 6–8
/// workers at 20 sessions on 2 cores). <c>serve</c> raises the pool's minimum to the cores plus
/// delivery.localConcurrency, which the pool creates at once when work waits: as many deliveries as
/// configured can wait in fsync with a worker per core left for the rest (paired runs on 2 cores: 20 sessions
/// about +9 % messages a second at about the same CPU per message; 100 sessions, where the cores are saturated, the
/// deliveries now keep up and take CPU from acceptance: stored end to end +6–29 %, accepted 0.72–1.24 ×).
/// With delivery.lmtp set the deliveries wait on sockets, not threads, and the minimum is left alone; so is
/// an operator's own minimum that is higher
/// (DOTNET_ThreadPool_ForceMinWorkerThreads, or System.Threading.ThreadPool.MinThreads in the runtime configuration).
/// </summary>
public static class ThreadPoolHeadroom
{
    /// <summary>What <see cref="Configure"/> decided, for the start-up log; null before it ran.</summary>
    public static string? Decision { get; private set; }

    /// <summary>Raises the pool's minimum worker threads where Maildir deliveries need it; returns the minimum in force.</summary>
    public static int Configure(SecureMxOptions options)
    {
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        if (!string.IsNullOrEmpty(options.Delivery.Lmtp))
        {
            Decision = $"thread pool: at least {workers} workers (deliveries go to LMTP and wait on sockets, not threads)";
            return workers;
        }
        var wanted = Environment.ProcessorCount + options.Delivery.LocalConcurrency;
        if (workers >= wanted)
        {
            Decision = $"thread pool: at least {workers} workers (set by the environment or the runtime configuration; the Maildir deliveries need {wanted})";
            return workers;
        }
        if (!ThreadPool.SetMinThreads(wanted, completionPorts))
        {
            Decision = $"thread pool: at least {workers} workers (the runtime refused {wanted}; Maildir deliveries may wait for a thread under load)";
            return workers;
        }
        Decision = $"thread pool: at least {wanted} workers ({Environment.ProcessorCount} cores + delivery.localConcurrency {options.Delivery.LocalConcurrency}: Maildir deliveries block in fsync)";
        return wanted;
    }
}
