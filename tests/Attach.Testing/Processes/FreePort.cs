using System.Net;
using System.Net.Sockets;

namespace Attach.Testing.Processes;

/// <summary>Loopback ports for the processes a test starts.</summary>
public static class FreePort
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
