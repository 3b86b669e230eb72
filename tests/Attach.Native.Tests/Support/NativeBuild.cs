using System.Diagnostics;
using Attach.Testing.Processes;

namespace Attach.Native.Tests.Support;

/// <summary>
/// The shim and its test fixtures, built by <c>make -C attach-agent/native fixtures</c> the first time a test needs
/// them (make is incremental: after <c>make test</c> this does nothing), so <c>dotnet test</c> alone works too.
/// </summary>
internal static class NativeBuild
{
    private static readonly Lazy<string> Built = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>attach-agent/native</summary>
    public static string SourceDirectory { get; } = Path.Combine(RepositoryPaths.Root, "attach-agent", "native");

    /// <summary>build/libattach.so</summary>
    public static string Library => Path.Combine(Built.Value, "libattach.so");

    /// <summary>The folder that holds the fake libcuda.so.1 (for LD_LIBRARY_PATH), the fake libvgpu.so and the programs.</summary>
    public static string FixtureDirectory => Path.Combine(Built.Value, "tests");

    public static string FakeHamiLibrary => Path.Combine(FixtureDirectory, "libvgpu.so");

    /// <summary>A program linked against the driver (tests/prog_direct.c).</summary>
    public static string DirectProgram => Path.Combine(FixtureDirectory, "prog_direct");

    /// <summary>A program that loads the driver itself (tests/prog_dynamic.c).</summary>
    public static string DynamicProgram => Path.Combine(FixtureDirectory, "prog_dynamic");

    public static string CtypesProgram => Path.Combine(SourceDirectory, "tests", "prog_ctypes.py");

    public static string UnitTests => Path.Combine(FixtureDirectory, "unit_tests");

    public static string AttachRun => Path.Combine(SourceDirectory, "attach-run");

    private static string Build()
    {
        var start = new ProcessStartInfo("make")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-C", SourceDirectory, "fixtures" })
        {
            start.ArgumentList.Add(argument);
        }

        using var make = Process.Start(start) ?? throw new InvalidOperationException("make could not be started");
        var output = make.StandardOutput.ReadToEndAsync();
        var errors = make.StandardError.ReadToEndAsync();
        if (!make.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            make.Kill(entireProcessTree: true);
            throw new TimeoutException("make -C attach-agent/native fixtures took more than 2 minutes");
        }

        if (make.ExitCode != 0)
        {
            throw new InvalidOperationException($"make -C attach-agent/native fixtures failed ({make.ExitCode}):\n{output.Result}\n{errors.Result}");
        }

        return Path.Combine(SourceDirectory, "build");
    }
}
