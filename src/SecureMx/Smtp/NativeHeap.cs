using System.Runtime.InteropServices;

namespace SecureMx.Smtp;

/// <summary>
/// glibc's malloc keeps what native code freed (SQLite's page caches and statements, OpenSSL's session buffers) in
/// its arenas for the next allocation; malloc_trim(3) gives the free pages back to the system.
/// </summary>
internal static partial class NativeHeap
{
    private static bool _unavailable;

    /// <summary>Returns glibc's free heap pages to the system; false (and nothing done) where there is no glibc (musl, not Linux).</summary>
    public static bool Trim()
    {
        if (_unavailable || !OperatingSystem.IsLinux()) return false;
        try
        {
            _ = MallocTrim(0); // 1 when memory was released, 0 when there was none to give
            return true;
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            _unavailable = true;
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
