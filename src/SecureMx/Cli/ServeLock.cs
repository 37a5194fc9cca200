using Microsoft.Win32.SafeHandles;
using SecureMx.Spool;

namespace SecureMx.Cli;

/// <summary>
/// The lock <c>securemx serve</c> holds on <c>spool/serve.lock</c> for as long as it runs: the commands
/// that need the instance to themselves (restore, queue vacuum) take it too, or refuse.
/// </summary>
public static class ServeLock
{
    public static string PathIn(string dataDirectory) => Path.Combine(dataDirectory, "spool", "serve.lock");

    /// <summary>The lock, or null while a server (or another such command) holds it.</summary>
    public static SafeFileHandle? TryTake(string dataDirectory)
    {
        return SafeIo.TryLockExclusive(PathIn(dataDirectory));
    }
}
