namespace Attach.Simulation.Workday;

/// <summary>One cell run: the think time before it, whether it runs on the GPU, and how long it runs.</summary>
internal readonly record struct Cell(double ThinkSeconds, bool Gpu, double DurationSeconds);
