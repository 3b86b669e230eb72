namespace Attach.Simulation.Scheduling;

/// <summary>The scheduler every figure is measured on: the broker's own.</summary>
internal static class Schedulers
{
    public static ISimulatedScheduler Create(PoolShape pool, TimeProvider clock) => new PoolSchedulerAdapter(pool, clock);
}
