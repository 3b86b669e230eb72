using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Attach.Agent.Shim;

/// <summary>
/// Who is at the other end of a unix socket, as the kernel recorded it when the peer connected
/// (<c>SO_PEERCRED</c>). A process cannot forge it, unlike anything it writes in a message.
/// </summary>
/// <param name="Pid">The peer's process id (in the agent's pid namespace).</param>
/// <param name="Uid">The peer's effective user id.</param>
/// <param name="Gid">The peer's effective group id.</param>
internal readonly record struct PeerCredentials(int Pid, uint Uid, uint Gid)
{
    // Linux (x86-64, arm64): <asm-generic/socket.h>. struct ucred { pid_t pid; uid_t uid; gid_t gid; }, native byte order.
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;
    private const int UcredLength = 12;

    /// <summary>Reads the credentials of an accepted unix socket's peer.</summary>
    /// <exception cref="SocketException">The socket is not a connected unix socket.</exception>
    public static PeerCredentials Of(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Span<byte> ucred = stackalloc byte[UcredLength];
        var length = socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred);
        if (length < UcredLength)
        {
            throw new SocketException((int)SocketError.ProtocolNotSupported);
        }

        return new PeerCredentials(
            MemoryMarshal.Read<int>(ucred),
            MemoryMarshal.Read<uint>(ucred[4..]),
            MemoryMarshal.Read<uint>(ucred[8..]));
    }
}
