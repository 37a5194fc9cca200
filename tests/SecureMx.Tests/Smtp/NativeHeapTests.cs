using SecureMx.Smtp;

namespace SecureMx.Tests.Smtp;

public sealed class NativeHeapTests
{
    [Fact]
    public void TrimReachesGlibcsMallocTrimOnLinux()
    {
        // The test machines run Debian (glibc): a wrong entry point or library name would leave the trim silently off.
        Assert.SkipUnless(OperatingSystem.IsLinux() && File.Exists("/usr/bin/ldd") && !File.Exists("/etc/alpine-release"), "glibc on Linux only");
        Assert.True(NativeHeap.Trim());
        Assert.True(NativeHeap.Trim()); // and again: nothing kept it from running twice
    }
}
