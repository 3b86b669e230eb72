using Attach.Broker.Kernels;
using Attach.Contracts.Kernels;

namespace Attach.Broker.Tests.Fakes;

/// <summary>Keeps every published transition in order and lets a test wait for one.</summary>
internal sealed class RecordingEventPublisher : IKernelEventPublisher
{
    private readonly Lock _lock = new();
    private readonly List<KernelStateChanged> _events = [];
    private readonly List<(Func<KernelStateChanged, bool> Match, TaskCompletionSource<KernelStateChanged> Done)> _waiters = [];

    public IReadOnlyList<KernelStateChanged> Events
    {
        get
        {
            lock (_lock)
            {
                return [.. _events];
            }
        }
    }

    public void Publish(KernelStateChanged change)
    {
        lock (_lock)
        {
            _events.Add(change);
            foreach (var waiter in _waiters.Where(w => w.Match(change)).ToList())
            {
                _waiters.Remove(waiter);
                waiter.Done.TrySetResult(change);
            }
        }
    }

    /// <summary>The first transition into <paramref name="state"/> from another state, published already or yet to come.</summary>
    public Task<KernelStateChanged> WaitForAsync(KernelState state)
    {
        lock (_lock)
        {
            if (_events.FirstOrDefault(e => IsEntry(e, state)) is { } seen)
            {
                return Task.FromResult(seen);
            }

            var done = new TaskCompletionSource<KernelStateChanged>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((e => IsEntry(e, state), done));
            return done.Task.WaitAsync(TestTimeouts.Event);
        }
    }

    private static bool IsEntry(KernelStateChanged change, KernelState state) => change.To == state && change.From != state;
}
