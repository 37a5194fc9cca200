using System.Net;
using System.Net.Sockets;

namespace SecureMx.Tests.TestSupport;

/// <summary>Ports on 127.0.0.1 for tests.</summary>
public static class LoopbackPort
{
    /// <summary>A port nothing listens on (taken from the system, then let go): a connection to it is refused at once.</summary>
    public static int Closed()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
