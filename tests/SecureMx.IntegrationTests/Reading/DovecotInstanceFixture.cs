using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Reading;

/// <summary>A SecureMx instance with the Dovecot its `dovecot-config` generates in front; stopped together.</summary>
public abstract class DovecotInstanceFixture : IAsyncLifetime
{
    public SecureMxInstance Mx { get; protected set; } = null!;
    public DovecotPeer Dovecot { get; protected set; } = null!;

    public abstract ValueTask InitializeAsync();

    public async ValueTask DisposeAsync()
    {
        if (Dovecot is not null) await Dovecot.DisposeAsync();
        if (Mx is not null)
        {
            await Mx.StopAsync();
            await Mx.DisposeAsync();
        }
        GC.SuppressFinalize(this);
    }
}
