namespace Attach.Simulation.Scheduling;

/// <summary>
/// The few calls the simulation makes on a pool scheduler, so the model, the harness and the plots do not depend
/// on the scheduler's own API. One adapter per scheduler; each decision is one synchronous call.
/// </summary>
internal interface ISimulatedScheduler
{
    /// <summary>What is being measured, for the report (e.g. "Attach.Broker.Scheduling.PoolScheduler").</summary>
    string Name { get; }

    /// <summary>Asks for a slice for <paramref name="kernelId"/>; true when placed now, false when queued.</summary>
    bool Submit(string kernelId, string user, long memoryMiB, int computePercent);

    /// <summary>Gives the kernel's slice back; returns the waiting kernels placed as a result, in the order placed.</summary>
    IReadOnlyList<string> Release(string kernelId);

    /// <summary>Withdraws a queued request.</summary>
    void Cancel(string kernelId);
}
