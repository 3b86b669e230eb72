using Attach.Broker.Kernels;
using Attach.Broker.Persistence;
using Attach.Broker.Pool;
using Attach.Broker.Tests.Fakes;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Persistence;

/// <summary>
/// A kernel suspended to host memory stays Suspended across a broker restart (the store's <c>suspended_kernels</c>),
/// and its next GPU cell resumes the same process on the node it lives on. Run for each store
/// (<see cref="SqliteSuspendedRestartTests"/>, <see cref="PostgresSuspendedRestartTests"/>).
/// </summary>
public abstract class SuspendedRestartTests : IDisposable
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(5);
    private static readonly SliceRequest Whole = new(80 * GiB, 100);

    private readonly TestStore _db;
    private readonly FakeTimeProvider _time = new(Epoch);
    private readonly SuspendingAgent _agent = new();
    private readonly List<IDisposable> _disposables = [];

    private protected SuspendedRestartTests(TestStore db)
    {
        _db = db;
    }

    public void Dispose()
    {
        foreach (var disposable in _disposables)
        {
            disposable.Dispose();
        }

        _agent.Dispose();
        _db.Dispose();
        GC.SuppressFinalize(this);
    }

    private (KernelRegistry Kernels, NodeRegistry Nodes, ILeaseStore Store) Start()
    {
        var options = Options.Create(new BrokerOptions { IdleTimeout = IdleTimeout });
        var store = _db.Open();
        var nodes = new NodeRegistry(_time, options);
        var leases = new LeaseTable(nodes, _time, store);
        var http = new HttpClient(_agent, disposeHandler: false);
        var binder = new GpuBinder(leases, new AgentClient(http), _time, NullLogger<GpuBinder>.Instance);
        var kernels = new KernelRegistry(binder, new RecordingEventPublisher(), _time, options, NullLoggerFactory.Instance, store);
        _disposables.Add(http);
        _disposables.Add(kernels);
        nodes.Record(Heartbeat("node-a", [Gpu(0, 80), Gpu(1, 80)]));
        return (kernels, nodes, store);
    }

    private static async Task WaitForStateAsync(KernelStateMachine kernel, KernelState state)
    {
        using var timeout = new CancellationTokenSource(TestTimeouts.Event);
        while (kernel.Status.State != state)
        {
            await Task.Delay(5, timeout.Token);
        }
    }

    [StoreFact]
    public async Task SuspendedKernel_StaysSuspendedAcrossARestart_AndItsNextCellResumesTheSameProcess()
    {
        var before = Start();
        var kernel = before.Kernels.GetOrAdd("kernel-1", "ada")!;
        var attached = await kernel.EnsureAttachedAsync(Whole, "test", CancellationToken.None).WaitAsync(TestTimeouts.Event);
        kernel.ReportProcess(777);
        _time.Advance(IdleTimeout);
        await WaitForStateAsync(kernel, KernelState.Suspended);

        var after = Start();
        var restored = after.Kernels.Find("kernel-1", "ada")!;

        var status = restored.Status;
        Assert.Equal(KernelState.Suspended, status.State);
        Assert.Equal(_agent.SuspendedBytes, status.SuspendedBytes);
        Assert.Contains("kept in host memory", status.Reason, StringComparison.Ordinal);
        Assert.Equal(kernel.Suspension, restored.Suspension);

        var outcome = await restored.EnsureAttachedAsync(Whole, "test", CancellationToken.None).WaitAsync(TestTimeouts.Event);

        Assert.Null(outcome.Error);
        Assert.Equal(attached.Attachment!.GpuIndex, outcome.Attachment!.GpuIndex);
        Assert.Equal(new ResumeRequest(777, attached.Attachment.GpuIndex), Assert.Single(_agent.Resumes).Request);
        Assert.Empty(after.Store.LoadSuspensions());
    }

    [StoreFact]
    public async Task ForgottenKernel_LeavesNoSuspensionBehind()
    {
        var before = Start();
        var kernel = before.Kernels.GetOrAdd("kernel-1", "ada")!;
        await kernel.EnsureAttachedAsync(Whole, "test", CancellationToken.None).WaitAsync(TestTimeouts.Event);
        _time.Advance(IdleTimeout);
        await WaitForStateAsync(kernel, KernelState.Suspended);
        Assert.Single(before.Store.LoadSuspensions());

        Assert.True(await before.Kernels.RemoveAsync("kernel-1", "ada", CancellationToken.None));

        Assert.Empty(before.Store.LoadSuspensions());
    }
}

/// <summary><see cref="SuspendedRestartTests"/> over a SQLite file.</summary>
public sealed class SqliteSuspendedRestartTests() : SuspendedRestartTests(new SqliteTestStore());

/// <summary><see cref="SuspendedRestartTests"/> over a real PostgreSQL (a schema of its own per test).</summary>
[RequiresPostgres]
public sealed class PostgresSuspendedRestartTests() : SuspendedRestartTests(new PostgresTestStore());
