namespace SecureMx.Tests.Hosting;

/// <summary>
/// Tests that send a real signal to the test process run alone: the signal reaches every handler the
/// process has registered at that moment, and on a loaded 2-core runner the parallel suite delayed its
/// dispatch past the tests' 10 s (both SIGHUP tests failed once in a full CI run, never alone).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessSignalCollection
{
    public const string Name = "process signals";
}
