namespace Attach.Simulation.Workday;

/// <summary>One developer's day: when they start (seconds after 00:00) and their sessions in order.</summary>
internal sealed record DeveloperDay(string Developer, double StartSeconds, IReadOnlyList<NotebookSession> Sessions);
