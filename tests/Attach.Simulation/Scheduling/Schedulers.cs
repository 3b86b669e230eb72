namespace Attach.Simulation.Scheduling;

/// <summary>The scheduler every figure is measured on.</summary>
internal static class Schedulers
{
    public static ISimulatedScheduler Create(PoolShape pool, TimeProvider clock) => new LeaseTableFifoScheduler(pool, clock);
}
