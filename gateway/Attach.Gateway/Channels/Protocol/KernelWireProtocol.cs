namespace Attach.Gateway.Channels.Protocol;

/// <summary>The framing used on a kernel-channel WebSocket, fixed by the subprotocol negotiated at upgrade.</summary>
internal enum KernelWireProtocol
{
    /// <summary>
    /// No subprotocol: a text frame is one JSON message; a binary frame is a big-endian
    /// uint32 part count and offsets, then the JSON message and its raw buffers.
    /// </summary>
    Legacy,

    /// <summary>
    /// <c>v1.kernel.websocket.jupyter.org</c>: always binary; little-endian uint64 offsets,
    /// then channel, header, parent_header, metadata and content as separate parts, then buffers.
    /// </summary>
    V1,
}
