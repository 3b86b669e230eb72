using Attach.Broker.Scheduling;

namespace Attach.Broker.Pool;

/// <summary>Hears how a waiting request moves in the queue. Called outside the lease table's lock, never concurrently for one request's first report and its placement.</summary>
internal interface IQueueObserver
{
    /// <summary>The request waits: first when it is queued, then whenever its position or the queue's length changes.</summary>
    void Queued(WaiterInfo standing);

    /// <summary>A slice was placed for the waiting request; the agent binds it next.</summary>
    void Placed(string nodeId, int gpuIndex, string gpuName);
}
