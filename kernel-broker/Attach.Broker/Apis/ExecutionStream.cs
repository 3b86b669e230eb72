using System.Buffers;
using System.Text.Json;
using System.Threading.Channels;
using Attach.Broker.Kernels;
using Attach.Broker.Pool;
using Attach.Contracts.Kernels;
using Microsoft.Extensions.Options;

namespace Attach.Broker.Apis;

/// <summary>
/// The streamed answer to an execution request (<see cref="AttachMediaTypes.NdJson"/>): a Progress line when the
/// kernel is queued and whenever its place changes, a Progress line when the slice is being bound, then the Decision
/// line; each line flushed at once. A client that goes away while the kernel is queued takes it out of the queue.
/// Only for GPU cells that can wait: a decision made at once (CPU only, a slice request that cannot be read) is one
/// plain JSON answer.
/// </summary>
internal sealed class ExecutionStream(KernelStateMachine kernel, SliceRequest slice, string rule, ILogger logger) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var aborted = httpContext.RequestAborted;
        var json = httpContext.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
        httpContext.Response.StatusCode = StatusCodes.Status200OK;
        httpContext.Response.ContentType = AttachMediaTypes.NdJson;
        httpContext.Response.Headers.CacheControl = "no-cache";
        var changes = Channel.CreateUnbounded<KernelProgress>(new UnboundedChannelOptions { SingleReader = true });
        using var watch = kernel.Watch(progress => changes.Writer.TryWrite(progress));
        var attach = kernel.EnsureAttachedAsync(slice, rule, CancellationToken.None);
        var last = (State: KernelState.Detached, Position: (int?)null, Length: (int?)null);
        // A kernel that was queued already (another cell of it waits) reports its place at once.
        var current = kernel.Status;
        if (current.State == KernelState.Queued)
        {
            changes.Writer.TryWrite(new KernelProgress(current, kernel.QueueLength, false));
        }
        try
        {
            while (true)
            {
                while (changes.Reader.TryRead(out var change))
                {
                    if (ProgressFor(change, ref last) is { } progress)
                    {
                        await WriteAsync(httpContext, new ExecutionUpdate(progress, null), json, aborted);
                    }
                }

                if (attach.IsCompleted)
                {
                    break;
                }

                await Task.WhenAny(attach, changes.Reader.WaitToReadAsync(aborted).AsTask());
                aborted.ThrowIfCancellationRequested();
            }

            var outcome = await attach;
            await WriteAsync(httpContext, new ExecutionUpdate(null, new ExecutionDecision(true, rule, outcome.Attachment, outcome.NewlyAttached, outcome.Error)), json, aborted);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The user interrupted the held cell: a queued request leaves the queue; a bind under way finishes and the idle policy decides.
            if (await kernel.CancelQueuedAsync("the cell was interrupted"))
            {
                Log.QueuedRequestAbandoned(logger, kernel.KernelId, kernel.Owner);
            }
        }
    }

    private static ExecutionProgress? ProgressFor(KernelProgress change, ref (KernelState State, int? Position, int? Length) last)
    {
        var (status, length, binding) = change;
        ExecutionProgress? progress = null;
        if (status.State == KernelState.Queued && status.QueuePosition is { } position)
        {
            if (last.State != KernelState.Queued || last.Position != position || last.Length != length)
            {
                var total = length ?? position;
                progress = new ExecutionProgress(ExecutionPhase.Queued, position, total, status.EtaSeconds, KernelStateMachine.QueueMessage(position, total, status.EtaSeconds));
            }

            last = (KernelState.Queued, position, length);
        }
        else if (status.State == KernelState.Attaching && binding)
        {
            // Only once a slice is chosen: while the broker is still placing, the request may yet be queued.
            if (last.State != KernelState.Attaching)
            {
                progress = new ExecutionProgress(ExecutionPhase.Attaching, null, null, null, $"attaching a GPU: {status.Reason}");
            }

            last = (KernelState.Attaching, null, null);
        }
        else if (status.State == KernelState.Resuming || (status.State == KernelState.Attached && last.State == KernelState.Resuming))
        {
            // A suspended kernel: each step of its resume, then "resumed from host memory in X s".
            progress = new ExecutionProgress(ExecutionPhase.Resuming, null, null, null, status.Reason);
            last = (status.State, null, null);
        }
        else if (status.State != KernelState.Attaching)
        {
            last = (status.State, null, null);
        }

        return progress;
    }

    private static async Task WriteAsync(HttpContext httpContext, ExecutionUpdate update, JsonSerializerOptions json, CancellationToken cancellationToken)
    {
        // The line and its newline in one write: one chunk on the wire, not two.
        var writer = httpContext.Response.BodyWriter;
        using (var json8 = new Utf8JsonWriter(writer))
        {
            JsonSerializer.Serialize(json8, update, json);
        }

        writer.Write("\n"u8);
        await writer.FlushAsync(cancellationToken);
    }
}
