using SecureMx.TestKit;

[assembly: AssemblyFixture(typeof(SecureMx.Tests.TestSupport.PostgresShutdown))]

namespace SecureMx.Tests.TestSupport;

/// <summary>Stops the test process's private PostgreSQL (if a test started it) once every test has run.</summary>
public sealed class PostgresShutdown : IDisposable
{
    public void Dispose() => PostgresServer.StopShared();
}
