namespace Attach.Simulation.Workday;

/// <summary>A generated day of every developer, from one seed.</summary>
internal sealed record WorkdayTrace(WorkdayParameters Parameters, int Seed, IReadOnlyList<DeveloperDay> Developers);
