using System.Net;
using System.Net.Http.Json;
using Attach.Contracts.Pool;

namespace Attach.Broker.Tests.Fakes;

/// <summary>
/// The agents of a small pool behind one <see cref="HttpMessageHandler"/> (an agent's URL names its node), each keeping
/// the ledger a real agent keeps (attach-agent's SliceLedger): a bind is checked against its GPU's capacity, an unbind
/// of a binding it does not hold answers 404, a suspend copies the lease's process to the node's host memory (the
/// binding stays until the broker unbinds it) and a resume restores a process only on the node that holds it. A dead
/// agent answers nothing: the connection fails. Whatever a correct broker would never ask (a bind past a GPU's
/// capacity, a resume of a process the node does not hold, an unbind with the wrong epoch) is refused and recorded in
/// <see cref="Violations"/>. Requests in flight are counted, so a test can wait until the broker is quiet.
/// </summary>
internal sealed class LedgerAgents : HttpMessageHandler
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Agent> _agents = new(StringComparer.Ordinal);
    private readonly Func<string, int> _pidOf;
    private readonly List<string> _violations = [];
    private int _inFlight;

    /// <param name="pool">Each node and its GPUs.</param>
    /// <param name="pidOf">The process each kernel runs as (what the agent learns from the shim).</param>
    public LedgerAgents(IReadOnlyDictionary<string, GpuInfo[]> pool, Func<string, int> pidOf)
    {
        _pidOf = pidOf;
        foreach (var (nodeId, gpus) in pool)
        {
            _agents[nodeId] = new Agent(gpus);
        }
    }

    /// <summary>Requests the broker has sent that have not been answered yet.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Requests a correct broker never sends, in the order they came.</summary>
    public IReadOnlyList<string> Violations
    {
        get
        {
            lock (_lock)
            {
                return [.. _violations];
            }
        }
    }

    public bool IsAlive(string nodeId)
    {
        lock (_lock)
        {
            return _agents[nodeId].Alive;
        }
    }

    /// <summary>The agent stops answering; its ledger and the processes in host memory stay as they are.</summary>
    public void Kill(string nodeId)
    {
        lock (_lock)
        {
            _agents[nodeId].Alive = false;
        }
    }

    /// <summary>
    /// The agent dies with its next request: after answering it, or (<paramref name="loseAnswer"/>) after doing what it
    /// asked but before the answer leaves, so the broker sees a failed call that took effect. A resume's answer is never
    /// lost: the broker could not tell a resumed process from a suspended one, and the property does not claim it can.
    /// </summary>
    public void KillWithNextRequest(string nodeId, bool loseAnswer)
    {
        lock (_lock)
        {
            _agents[nodeId].Dying = loseAnswer ? Dying.LosingAnswer : Dying.AfterAnswer;
        }
    }

    /// <summary>Whether the agent will die with its next request.</summary>
    public bool IsDying(string nodeId)
    {
        lock (_lock)
        {
            return _agents[nodeId].Dying != Dying.No;
        }
    }

    /// <summary>The agent answers again; with <paramref name="forgetLedger"/> it lost its ledger (and nothing is bound any more).</summary>
    public void Revive(string nodeId, bool forgetLedger)
    {
        lock (_lock)
        {
            var agent = _agents[nodeId];
            agent.Alive = true;
            agent.Dying = Dying.No;
            if (forgetLedger)
            {
                agent.Ledger.Clear();
            }
        }
    }

    /// <summary>What the agent holds: what its heartbeat reports.</summary>
    public IReadOnlyList<BindingInfo> Ledger(string nodeId)
    {
        lock (_lock)
        {
            return [.. _agents[nodeId].Ledger.Values.OrderBy(b => b.LeaseId, StringComparer.Ordinal)];
        }
    }

    /// <summary>The processes whose GPU state the node keeps in host memory.</summary>
    public IReadOnlyCollection<int> SuspendedProcesses(string nodeId)
    {
        lock (_lock)
        {
            return [.. _agents[nodeId].Suspended];
        }
    }

    /// <summary>How many times each process was resumed, on any node.</summary>
    public int Resumes(int pid)
    {
        lock (_lock)
        {
            return _agents.Values.Sum(a => a.Resumed.GetValueOrDefault(pid));
        }
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _inFlight);
        try
        {
            // An answer arrives later than the call, as over a network.
            await Task.Yield();
            var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
            return Answer(request.Method, request.RequestUri!, body);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    private HttpResponseMessage Answer(HttpMethod method, Uri uri, string? body)
    {
        var nodeId = uri.Host;
        lock (_lock)
        {
            var agent = _agents[nodeId];
            if (!agent.Alive)
            {
                throw new HttpRequestException($"connection refused: the agent on {nodeId} is down");
            }

            var answer = Answer(nodeId, agent, method, uri, body);
            if (agent.Dying == Dying.No)
            {
                return answer;
            }

            var lose = agent.Dying == Dying.LosingAnswer && !uri.AbsolutePath.EndsWith("/resume", StringComparison.Ordinal);
            agent.Alive = false;
            agent.Dying = Dying.No;
            if (lose)
            {
                answer.Dispose();
                throw new HttpRequestException($"connection reset: the agent on {nodeId} died before answering");
            }

            return answer;
        }
    }

    private HttpResponseMessage Answer(string nodeId, Agent agent, HttpMethod method, Uri uri, string? body)
    {
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (method == HttpMethod.Get)
        {
            return Json(HttpStatusCode.OK, agent.Ledger.Values.ToList());
        }

        if (method == HttpMethod.Post && segments.Length == 3)
        {
            return Bind(nodeId, agent, Read<BindRequest>(body));
        }

        var leaseId = Uri.UnescapeDataString(segments[3]);
        if (method == HttpMethod.Delete)
        {
            var epoch = long.Parse(uri.Query.Split('=')[1], System.Globalization.CultureInfo.InvariantCulture);
            if (!agent.Ledger.TryGetValue(leaseId, out var held))
            {
                return Problem(HttpStatusCode.NotFound, "No such binding");
            }

            if (held.Epoch != epoch)
            {
                return Refuse(HttpStatusCode.Conflict, "Stale lease epoch", $"{nodeId}: unbind of {leaseId} at epoch {epoch}, bound at {held.Epoch}");
            }

            agent.Ledger.Remove(leaseId);
            return new HttpResponseMessage(HttpStatusCode.NoContent);
        }

        return segments[4] switch
        {
            "suspend" => Suspend(nodeId, agent, leaseId, Read<SuspendRequest>(body)),
            _ => Resume(nodeId, agent, leaseId, Read<ResumeRequest>(body)),
        };
    }

    private HttpResponseMessage Bind(string nodeId, Agent agent, BindRequest bind)
    {
        if (agent.Ledger.ContainsKey(bind.LeaseId))
        {
            return Refuse(HttpStatusCode.Conflict, "The lease is bound differently", $"{nodeId}: lease {bind.LeaseId} bound twice");
        }

        var gpu = agent.Gpus.Single(g => g.Index == bind.GpuIndex);
        var onGpu = agent.Ledger.Values.Where(b => b.Gpu.Index == bind.GpuIndex).ToList();
        if (onGpu.Sum(b => b.MemoryMiB) + bind.MemoryMiB > gpu.MemoryTotalMiB || onGpu.Sum(b => b.ComputePercent) + bind.ComputePercent > 100)
        {
            return Refuse(
                HttpStatusCode.Conflict,
                "Not enough free memory on the GPU",
                $"{nodeId}: bind of {bind.LeaseId} ({bind.MemoryMiB} MiB, {bind.ComputePercent}%) on GPU {bind.GpuIndex}, which holds {onGpu.Sum(b => b.MemoryMiB)} MiB, {onGpu.Sum(b => b.ComputePercent)}% of {gpu.MemoryTotalMiB} MiB");
        }

        var binding = new BindingInfo(
            bind.LeaseId, bind.Epoch, bind.KernelId, gpu, bind.MemoryMiB, bind.ComputePercent, new Dictionary<string, string>(), DateTimeOffset.UnixEpoch, bind.Owner ?? "");
        agent.Ledger.Add(bind.LeaseId, binding);
        return Json(HttpStatusCode.OK, binding);
    }

    private HttpResponseMessage Suspend(string nodeId, Agent agent, string leaseId, SuspendRequest request)
    {
        if (!agent.Ledger.TryGetValue(leaseId, out var binding))
        {
            // A lease the broker still counts after this agent lost its ledger: the real agent answers the same.
            return Problem(HttpStatusCode.NotFound, "No such binding");
        }

        var pid = _pidOf(binding.KernelId);
        if (request.Pid is { } asked && asked != pid)
        {
            return Refuse(HttpStatusCode.Conflict, "No process to suspend", $"{nodeId}: suspend of pid {asked} for {binding.KernelId}, whose process is {pid}");
        }

        agent.Suspended.Add(pid);
        return Json(HttpStatusCode.OK, new SuspendResumeResult(
            leaseId, pid, SuspendOperation.Suspend, CudaProcessState.Checkpointed, binding.MemoryMiB * 1024 * 1024, 0.5, true, binding.Gpu, "suspended (simulated)"));
    }

    private HttpResponseMessage Resume(string nodeId, Agent agent, string leaseId, ResumeRequest request)
    {
        if (!agent.Ledger.TryGetValue(leaseId, out var binding))
        {
            return Refuse(HttpStatusCode.NotFound, "No such binding", $"{nodeId}: resume onto {leaseId}, which it does not hold");
        }

        if (request.Pid is not { } pid || !agent.Suspended.Remove(pid))
        {
            return Refuse(HttpStatusCode.Conflict, "No suspended process", $"{nodeId}: resume of pid {request.Pid}, which this node does not hold in host memory");
        }

        if (pid != _pidOf(binding.KernelId) || request.TargetGpuIndex != binding.Gpu.Index)
        {
            agent.Suspended.Add(pid);
            return Refuse(HttpStatusCode.Conflict, "The lease is bound differently", $"{nodeId}: resume of pid {pid} onto GPU {request.TargetGpuIndex} with {binding.KernelId}'s lease on GPU {binding.Gpu.Index}");
        }

        agent.Resumed[pid] = agent.Resumed.GetValueOrDefault(pid) + 1;
        return Json(HttpStatusCode.OK, new SuspendResumeResult(
            leaseId, pid, SuspendOperation.Resume, CudaProcessState.Running, binding.MemoryMiB * 1024 * 1024, 0.5, true, binding.Gpu, "resumed (simulated)"));
    }

    private HttpResponseMessage Refuse(HttpStatusCode status, string title, string violation)
    {
        _violations.Add(violation);
        return Problem(status, title);
    }

    private static HttpResponseMessage Problem(HttpStatusCode status, string title) =>
        Json(status, new { type = "about:blank", title, status = (int)status, detail = title });

    private static HttpResponseMessage Json<T>(HttpStatusCode status, T value) => new(status) { Content = JsonContent.Create(value) };

    private static T Read<T>(string? body) => System.Text.Json.JsonSerializer.Deserialize<T>(body!, System.Text.Json.JsonSerializerOptions.Web)!;

    private enum Dying
    {
        No,
        AfterAnswer,
        LosingAnswer,
    }

    private sealed class Agent(GpuInfo[] gpus)
    {
        public Dying Dying { get; set; }

        public GpuInfo[] Gpus { get; } = gpus;

        public bool Alive { get; set; } = true;

        public Dictionary<string, BindingInfo> Ledger { get; } = new(StringComparer.Ordinal);

        public HashSet<int> Suspended { get; } = [];

        public Dictionary<int, int> Resumed { get; } = [];
    }
}
