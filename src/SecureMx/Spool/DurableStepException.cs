namespace SecureMx.Spool;

/// <summary>
/// A step of durable storage failed. The inner exception is the operating system's error; the HResult
/// is copied from it, so an errno test (ENOSPC) works on this exception as on the original.
/// </summary>
public sealed class DurableStepException : IOException
{
    public DurableStep Step { get; }
    public string Path { get; }

    public DurableStepException(DurableStep step, string path, Exception error)
        : base($"{Describe(step)} {path} failed: {error.Message}", error)
    {
        Step = step;
        Path = path;
        HResult = error.HResult;
    }

    private static string Describe(DurableStep step) => step switch
    {
        DurableStep.Create => "creating",
        DurableStep.Write => "writing",
        DurableStep.Flush => "flushing",
        DurableStep.SyncFile => "fsync of",
        DurableStep.Rename => "renaming into",
        DurableStep.SyncDirectory => "fsync of directory",
        DurableStep.Delete => "removing",
        DurableStep.QueueRead => "reading",
        _ => "committing",
    };
}
