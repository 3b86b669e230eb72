using System.Buffers;
using Attach.Gateway.Channels.Protocol;

namespace Attach.Gateway.Channels;

/// <summary>
/// One parsed client message waiting for the forwarder: it owns the pooled buffer it was received into
/// (so the reader can go on receiving) and returns it when disposed.
/// </summary>
internal sealed class ClientMessage(byte[] buffer, int length, bool isText, KernelMessageSummary summary, long sequence) : IDisposable
{
    private byte[]? _buffer = buffer;

    /// <summary>The payload, byte for byte as the client sent it.</summary>
    public ReadOnlyMemory<byte> Data => _buffer.AsMemory(0, length);

    public bool IsText { get; } = isText;

    /// <summary>The routing fields; <see cref="KernelMessageSummary.HeaderJson"/> is a slice of <see cref="Data"/>.</summary>
    public KernelMessageSummary Summary { get; } = summary;

    /// <summary>The message's place in the client's stream (1, 2, 3, …), to tell which came before an interrupt.</summary>
    public long Sequence { get; } = sequence;

    public bool IsExecuteRequest => Summary is { Channel: KernelChannelNames.Shell, MsgType: "execute_request" };

    /// <summary>
    /// The same message under another sequence number, taking its buffer over (this one is left empty): a message
    /// carried from a dropped channel to its reconnect counts as read before anything the new channel reads.
    /// </summary>
    public ClientMessage Renumbered(long newSequence) =>
        new(Interlocked.Exchange(ref _buffer, null) ?? throw new ObjectDisposedException(nameof(ClientMessage)), length, IsText, Summary, newSequence);

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } owned)
        {
            ArrayPool<byte>.Shared.Return(owned);
        }
    }
}
