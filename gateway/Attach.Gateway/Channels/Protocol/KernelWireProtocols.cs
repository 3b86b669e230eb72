namespace Attach.Gateway.Channels.Protocol;

/// <summary>Maps the negotiated WebSocket subprotocol to the kernel wire protocol.</summary>
internal static class KernelWireProtocols
{
    /// <summary>The subprotocol JupyterLab 4 offers and jupyter_server 1.23+ selects by default.</summary>
    public const string V1Subprotocol = "v1.kernel.websocket.jupyter.org";

    /// <summary>
    /// Returns <see cref="KernelWireProtocol.V1"/> only for an exact (ordinal) match, as
    /// jupyter_server's <c>select_subprotocol</c> does; anything else, including none, is legacy.
    /// </summary>
    public static KernelWireProtocol FromSubprotocol(string? negotiated) =>
        string.Equals(negotiated, V1Subprotocol, StringComparison.Ordinal)
            ? KernelWireProtocol.V1
            : KernelWireProtocol.Legacy;
}
