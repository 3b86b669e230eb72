namespace Attach.Agent.Tests.Containers;

/// <summary>
/// A test against the real Docker engine. Skipped, with the reason, only where no engine answers and CI is not
/// set (a developer's machine without dockerd); under CI it runs and fails if the engine is missing.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class DockerFactAttribute : FactAttribute
{
    public DockerFactAttribute()
    {
        if (DockerEngine.UnavailableReason is { } reason && !DockerEngine.InCi)
        {
            Skip = $"{reason} (Skipped because CI is not set; under CI these tests fail instead.)";
        }
    }
}
