namespace Attach.Native.Tests.Support;

/// <summary>
/// The environment a test's programs run in: the shim preloaded, the fake driver on the library path, the agent's
/// socket, and a file the fake driver records its calls in. Anything ATTACH_* the test runner itself has is
/// removed, so the shim sees only what the test sets.
/// </summary>
internal sealed class ShimEnvironment
{
    private readonly Dictionary<string, string?> _variables = new(StringComparer.Ordinal);

    public ShimEnvironment(string socketPath, DirectoryInfo recordDirectory)
    {
        RecordPath = Path.Combine(recordDirectory.FullName, $"driver-{Guid.NewGuid():N}.log");
        foreach (var key in Environment.GetEnvironmentVariables().Keys.Cast<string>().Where(key => key.StartsWith("ATTACH_", StringComparison.Ordinal)))
        {
            _variables[key] = null;
        }

        _variables["XDG_RUNTIME_DIR"] = null;
        _variables["LD_PRELOAD"] = NativeBuild.Library;
        _variables["LD_LIBRARY_PATH"] = NativeBuild.FixtureDirectory;
        _variables["ATTACH_AGENT_SOCKET"] = socketPath;
        _variables["FAKE_CUDA_RECORD"] = RecordPath;
    }

    public ShimEnvironment(FakeAgent agent)
        : this(agent.SocketPath, agent.Directory)
    {
    }

    /// <summary>Where the fake driver records its calls.</summary>
    public string RecordPath { get; }

    /// <summary>A variable for the programs; null removes it.</summary>
    public string? this[string name]
    {
        get => _variables.GetValueOrDefault(name);
        set => _variables[name] = value;
    }

    /// <summary>What the fake driver (and the fake HAMi-core) recorded so far.</summary>
    public IReadOnlyList<DriverCall> DriverCalls => DriverCall.ReadAll(RecordPath);

    /// <summary>The real cuInit calls the fake driver saw.</summary>
    public IReadOnlyList<DriverCall> CuInitCalls => [.. DriverCalls.Where(call => call.Name == "cuInit")];

    public ShimProcess Start(string program, params string[] arguments) => ShimProcess.Start(program, arguments, _variables);
}
