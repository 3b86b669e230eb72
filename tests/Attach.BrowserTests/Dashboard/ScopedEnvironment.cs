namespace Attach.BrowserTests.Dashboard;

/// <summary>
/// Environment variables for the services a test starts (they inherit the test process's environment), set for the
/// test's duration only. Tests in this assembly never run in parallel (AssemblyInfo.cs), so no other test sees them.
/// </summary>
internal sealed class ScopedEnvironment : IDisposable
{
    private readonly Dictionary<string, string?> _before = [];

    public ScopedEnvironment(params (string Name, string Value)[] variables)
    {
        foreach (var (name, value) in variables)
        {
            _before[name] = Environment.GetEnvironmentVariable(name);
            Environment.SetEnvironmentVariable(name, value);
        }
    }

    public void Dispose()
    {
        foreach (var (name, value) in _before)
        {
            Environment.SetEnvironmentVariable(name, value);
        }
    }
}
