using Attach.Simulation.Scheduling;
using Attach.Simulation.Workday;
using Microsoft.Extensions.Time.Testing;

namespace Attach.Simulation.Consolidation;

/// <summary>
/// Replays a <see cref="WorkdayTrace"/> against a scheduler on a fake clock, as a discrete-event simulation. Closed
/// loop: a developer whose GPU cell waits starts thinking about the next cell only once it has run, so waiting
/// pushes the rest of their day back, as it would. The scheduler is called exactly as the broker calls it: a GPU
/// cell of a kernel without a slice submits; the idle policy or a suspend releases, and the kernels the release
/// placed start their held cells.
/// </summary>
internal sealed class ConsolidationSimulator
{
    private static readonly DateTimeOffset Midnight = new(2026, 3, 2, 0, 0, 0, TimeSpan.Zero);

    private readonly WorkdayTrace _trace;
    private readonly ConsolidationPolicy _policy;
    private readonly FakeTimeProvider _clock = new(Midnight);
    private readonly ISimulatedScheduler _scheduler;
    private readonly PriorityQueue<Event, (double Time, long Sequence)> _events = new();
    private readonly Dictionary<string, KernelRun> _kernels = new(StringComparer.Ordinal);
    private readonly List<double> _waits = [];
    private readonly List<double> _attachWaits = [];
    private readonly List<string> _placed = [];
    private readonly int _gpus;
    private long _sequence;
    private double _now;
    private int _attachRequests;
    private int _queued;
    private int _suspends;
    private double _heldGpuSeconds;

    public ConsolidationSimulator(WorkdayTrace trace, ConsolidationPolicy policy, int gpus, Func<PoolShape, TimeProvider, ISimulatedScheduler> schedulerFactory)
    {
        ArgumentNullException.ThrowIfNull(trace);
        ArgumentNullException.ThrowIfNull(schedulerFactory);
        _trace = trace;
        _policy = policy;
        _gpus = policy == ConsolidationPolicy.OneGpuPerDeveloper ? trace.Developers.Count : gpus;
        _scheduler = schedulerFactory(new PoolShape(_gpus, trace.Parameters.GpuMemoryMiB), _clock);
    }

    private WorkdayParameters Parameters => _trace.Parameters;

    public ConsolidationResult Run()
    {
        foreach (var developer in _trace.Developers)
        {
            if (developer.Sessions.Count > 0)
            {
                Schedule(developer.StartSeconds + developer.Sessions[0].GapBeforeSeconds, EventKind.SessionStart, NewRun(developer, 0), 0);
            }
        }

        while (_events.TryDequeue(out var next, out var at))
        {
            _now = at.Time;
            _clock.SetUtcNow(Midnight.AddSeconds(_now));
            Handle(next);
        }

        var stuck = _kernels.Values.FirstOrDefault(k => k.State != KernelState.Done);
        if (stuck is not null)
        {
            throw new InvalidOperationException($"the simulation ended with {stuck.Id} {stuck.State}: a queued kernel was never placed");
        }

        return new ConsolidationResult(_policy, _gpus, _waits, _attachWaits, _attachRequests, _queued, _suspends, _heldGpuSeconds / 3600, _now / 3600);
    }

    private KernelRun NewRun(DeveloperDay developer, int sessionIndex)
    {
        var run = new KernelRun($"{developer.Developer}-k{sessionIndex}", developer, sessionIndex);
        _kernels.Add(run.Id, run);
        return run;
    }

    private void Handle(Event e)
    {
        var run = e.Run;
        switch (e.Kind)
        {
            case EventKind.SessionStart:
                run.State = KernelState.Detached;
                ScheduleCell(run);
                break;
            case EventKind.CellStart:
                StartCell(run);
                break;
            case EventKind.CellEnd:
                EndCell(run);
                break;
            case EventKind.IdleFire when e.Generation == run.IdleGeneration && run.State == KernelState.Held && !run.Busy:
                if (_policy == ConsolidationPolicy.SlicePoolingWithSuspend && run.Session.UsedMemoryBytes > 0)
                {
                    StartSuspend(run);
                }
                else
                {
                    Release(run, KernelState.Detached);
                }

                break;
            case EventKind.SuspendDone:
                Release(run, run.SessionOver ? KernelState.Done : KernelState.Suspended);
                if (run.WaitingCell)
                {
                    Submit(run);
                }

                break;
            default:
                break;
        }
    }

    private void ScheduleCell(KernelRun run)
    {
        if (run.NextCell < run.Session.Cells.Count)
        {
            Schedule(_now + run.Session.Cells[run.NextCell].ThinkSeconds, EventKind.CellStart, run, 0);
            return;
        }

        EndSession(run);
    }

    private void StartCell(KernelRun run)
    {
        var cell = run.Session.Cells[run.NextCell];
        run.IdleGeneration++;
        if (!cell.Gpu)
        {
            run.Busy = true;
            Schedule(_now + cell.DurationSeconds, EventKind.CellEnd, run, 0);
            return;
        }

        run.CellRequestedAt = _now;
        switch (run.State)
        {
            case KernelState.Held:
                _waits.Add(0);
                run.Busy = true;
                Schedule(_now + cell.DurationSeconds, EventKind.CellEnd, run, 0);
                break;
            case KernelState.Suspending:
                // The slice is still being copied out; the cell waits for the suspend to finish, then resumes.
                run.WaitingCell = true;
                break;
            case KernelState.Detached or KernelState.Suspended:
                Submit(run);
                break;
            default:
                throw new InvalidOperationException($"{run.Id}: a GPU cell started while {run.State}");
        }
    }

    private void Submit(KernelRun run)
    {
        run.WaitingCell = false;
        run.Resume = run.State == KernelState.Suspended;
        var (memory, compute) = SliceOf(run);
        _attachRequests++;
        run.State = KernelState.Queued;
        _placed.Clear();
        var placedNow = _scheduler.Submit(run.Id, run.Developer.Developer, memory, compute, _placed);
        if (placedNow)
        {
            Placed(run);
        }
        else
        {
            _queued++;
        }

        PlaceAll();
    }

    private void PlaceAll()
    {
        foreach (var placedId in _placed.ToList())
        {
            Placed(_kernels[placedId]);
        }
    }

    private void Placed(KernelRun run)
    {
        if (run.State != KernelState.Queued)
        {
            throw new InvalidOperationException($"the scheduler placed {run.Id}, which is {run.State}, not waiting");
        }

        var resume = run.Resume ? Parameters.ResumeSeconds(run.Session.UsedMemoryBytes) : 0;
        run.State = KernelState.Held;
        run.HeldSince = _now;
        run.Busy = true;
        _waits.Add(_now - run.CellRequestedAt + resume);
        _attachWaits.Add(_now - run.CellRequestedAt + resume);
        Schedule(_now + resume + run.Session.Cells[run.NextCell].DurationSeconds, EventKind.CellEnd, run, 0);
    }

    private void EndCell(KernelRun run)
    {
        run.Busy = false;
        run.NextCell++;
        if (run.State == KernelState.Held)
        {
            var idleAfter = _policy switch
            {
                ConsolidationPolicy.OneGpuPerDeveloper => (double?)null,
                ConsolidationPolicy.SlicePoolingWithSuspend when run.Session.UsedMemoryBytes > 0 => Parameters.SuspendAfterIdleSeconds,
                _ => Parameters.IdleTimeoutSeconds,
            };
            if (idleAfter is { } delay && run.NextCell < run.Session.Cells.Count)
            {
                Schedule(_now + delay, EventKind.IdleFire, run, run.IdleGeneration);
            }
        }

        ScheduleCell(run);
    }

    private void StartSuspend(KernelRun run)
    {
        _suspends++;
        run.State = KernelState.Suspending;
        Schedule(_now + Parameters.SuspendSeconds(run.Session.UsedMemoryBytes), EventKind.SuspendDone, run, 0);
    }

    private void EndSession(KernelRun run)
    {
        run.SessionOver = true;
        switch (run.State)
        {
            case KernelState.Held:
                Release(run, KernelState.Done);
                break;
            case KernelState.Suspending:
                break;
            default:
                run.State = KernelState.Done;
                break;
        }

        var developer = run.Developer;
        var nextSession = run.SessionIndex + 1;
        if (nextSession < developer.Sessions.Count)
        {
            Schedule(_now + developer.Sessions[nextSession].GapBeforeSeconds, EventKind.SessionStart, NewRun(developer, nextSession), 0);
        }
    }

    private void Release(KernelRun run, KernelState after)
    {
        var (memory, _) = SliceOf(run);
        _heldGpuSeconds += (_now - run.HeldSince) * memory / Parameters.GpuMemoryMiB;
        run.State = after;
        _placed.Clear();
        _scheduler.Release(run.Id, _placed);
        PlaceAll();
    }

    private (long MemoryMiB, int ComputePercent) SliceOf(KernelRun run) =>
        _policy is ConsolidationPolicy.SlicePooling or ConsolidationPolicy.SlicePoolingWithSuspend
            ? (run.Session.Slice.MemoryMiB, run.Session.Slice.ComputePercent)
            : (Parameters.GpuMemoryMiB, 100);

    private void Schedule(double time, EventKind kind, KernelRun run, int generation) =>
        _events.Enqueue(new Event(kind, run, generation), (time, _sequence++));

    private enum EventKind
    {
        SessionStart,
        CellStart,
        CellEnd,
        IdleFire,
        SuspendDone,
    }

    private enum KernelState
    {
        NotStarted,
        Detached,
        Queued,
        Held,
        Suspending,
        Suspended,
        Done,
    }

    private sealed record Event(EventKind Kind, KernelRun Run, int Generation);

    private sealed class KernelRun(string id, DeveloperDay developer, int sessionIndex)
    {
        public string Id { get; } = id;

        public DeveloperDay Developer { get; } = developer;

        public int SessionIndex { get; } = sessionIndex;

        public NotebookSession Session => Developer.Sessions[SessionIndex];

        public KernelState State { get; set; }

        public int NextCell { get; set; }

        public bool Busy { get; set; }

        public int IdleGeneration { get; set; }

        public double CellRequestedAt { get; set; }

        public double HeldSince { get; set; }

        public bool Resume { get; set; }

        public bool WaitingCell { get; set; }

        public bool SessionOver { get; set; }
    }
}
