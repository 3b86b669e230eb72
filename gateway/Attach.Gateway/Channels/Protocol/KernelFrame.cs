namespace Attach.Gateway.Channels.Protocol;

/// <summary>One WebSocket message to send: its payload and whether it goes as a text or a binary frame.</summary>
/// <param name="Data">The complete message payload.</param>
/// <param name="IsText">True for a text (UTF-8 JSON) frame, false for a binary frame.</param>
internal readonly record struct KernelFrame(ReadOnlyMemory<byte> Data, bool IsText);
