using Attach.Gateway.Channels;

namespace Attach.Gateway.Tests.Channels;

public sealed class CoalescingStreamTests
{
    [Fact]
    public async Task NotDeferring_EachWriteGoesOutAtOnce()
    {
        var inner = new RecordingStream();
        await using var stream = new CoalescingStream(inner);

        await stream.WriteAsync(new byte[] { 1, 2 });
        await stream.WriteAsync(new byte[] { 3 });

        Assert.Equal([[1, 2], [3]], inner.Writes);
    }

    [Fact]
    public async Task Deferring_WritesGatherUntilTheFlush_ThenGoOutAsOneWriteInOrder()
    {
        var inner = new RecordingStream();
        await using var stream = new CoalescingStream(inner);

        stream.Defer();
        await stream.WriteAsync(new byte[] { 1, 2 });
        await stream.WriteAsync(new byte[] { 3 });
        await stream.FlushAsync();
        Assert.Empty(inner.Writes);
        Assert.Equal(3, stream.DeferredBytes);

        await stream.FlushDeferredAsync(CancellationToken.None);
        await stream.WriteAsync(new byte[] { 4 });

        Assert.Equal([[1, 2, 3], [4]], inner.Writes);
    }

    [Fact]
    public async Task Deferring_PastTheLimit_WhatGatheredGoesFirst_ThenTheWriteThatWouldPassIt()
    {
        var inner = new RecordingStream();
        await using var stream = new CoalescingStream(inner);
        var large = new byte[CoalescingStream.DeferLimitBytes];

        stream.Defer();
        await stream.WriteAsync(new byte[] { 1 });
        await stream.WriteAsync(large);

        Assert.Equal(2, inner.Writes.Count);
        Assert.Equal([1], inner.Writes[0]);
        Assert.Equal(large.Length, inner.Writes[1].Length);
        Assert.Equal(0, stream.DeferredBytes);
    }

    [Fact]
    public async Task FlushDeferred_WithNothingGathered_WritesNothing()
    {
        var inner = new RecordingStream();
        await using var stream = new CoalescingStream(inner);

        stream.Defer();
        await stream.FlushDeferredAsync(CancellationToken.None);

        Assert.Empty(inner.Writes);
    }

    [Fact]
    public async Task Reads_PassThrough()
    {
        var inner = new RecordingStream([7, 8]);
        await using var stream = new CoalescingStream(inner);
        var buffer = new byte[4];

        var read = await stream.ReadAsync(buffer);

        Assert.Equal([7, 8], buffer[..read]);
    }

    private sealed class RecordingStream(byte[]? toRead = null) : MemoryStream(toRead ?? [])
    {
        public List<byte[]> Writes { get; } = [];

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Writes.Add(buffer.ToArray());
            return ValueTask.CompletedTask;
        }
    }
}
