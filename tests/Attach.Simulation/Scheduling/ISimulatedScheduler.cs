namespace Attach.Simulation.Scheduling;

/// <summary>
/// The few calls the simulation makes on a pool scheduler, so the model, the harness and the plots do not depend
/// on the scheduler's own API. Each decision is one synchronous call.
/// </summary>
internal interface ISimulatedScheduler
{
    /// <summary>What is being measured, for the report.</summary>
    string Name { get; }

    /// <summary>
    /// Asks for a slice for <paramref name="kernelId"/>; true when placed now, false when queued. Other waiting kernels
    /// the call happened to place are added to <paramref name="alsoPlaced"/>.
    /// </summary>
    bool Submit(string kernelId, string user, long memoryMiB, int computePercent, List<string> alsoPlaced);

    /// <summary>Gives the kernel's slice back; the waiting kernels placed as a result are added to <paramref name="placed"/>, in the order placed.</summary>
    void Release(string kernelId, List<string> placed);
}
