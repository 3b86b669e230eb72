using System.Runtime.CompilerServices;
using Attach.Gateway.Channels.Protocol;

namespace Attach.Gateway.Tests.Channels;

/// <summary>
/// The golden frames under Fixtures/, written by Fixtures/make_fixtures.py with jupyter_server's
/// own serializers. The name says how a frame travels: "*.json" is a legacy text frame,
/// "legacy-*.bin" a legacy binary frame, "v1-*.bin" a v1 frame.
/// </summary>
internal static class WireFixtures
{
    public const int OneMiB = 1024 * 1024;

    public static string FixtureDirectory { get; } = Locate();

    public static byte[] Read(string name) => File.ReadAllBytes(Path.Combine(FixtureDirectory, name));

    /// <summary>
    /// Rebuilds a 1 MiB display_data frame: make_fixtures.py stores the bytes before the buffer
    /// (the buffer is 1 MiB of zeros) to keep the repository small.
    /// </summary>
    public static byte[] ReadWithOneMiBBuffer(string prefixName)
    {
        var prefix = Read(prefixName);
        var frame = new byte[prefix.Length + OneMiB];
        prefix.CopyTo(frame, 0);
        return frame;
    }

    /// <summary>Every complete frame (the 1 MiB prefixes are not frames by themselves).</summary>
    public static IReadOnlyList<string> CompleteFrameNames { get; } =
        Directory.EnumerateFiles(FixtureDirectory)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(name => (name.EndsWith(".bin", StringComparison.Ordinal) || name.EndsWith(".json", StringComparison.Ordinal))
                && !name.Contains(".prefix.", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToArray();

    /// <summary>"v1" or "legacy", mapped through the same call the relay uses on the negotiated subprotocol.</summary>
    public static KernelWireProtocol ProtocolNamed(string name) =>
        KernelWireProtocols.FromSubprotocol(name == "v1" ? KernelWireProtocols.V1Subprotocol : null);

    public static (KernelWireProtocol Protocol, bool IsText) FramingOf(string name) =>
        (name.StartsWith("v1-", StringComparison.Ordinal) ? KernelWireProtocol.V1 : KernelWireProtocol.Legacy,
         name.EndsWith(".json", StringComparison.Ordinal));

    // The fixtures are copied next to the test assembly when the project says so; otherwise they
    // are read from the source tree, found through this file's compile-time path.
    private static string Locate([CallerFilePath] string sourceFile = "")
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "Channels", "Fixtures");
        return Directory.Exists(beside) ? beside : Path.Combine(Path.GetDirectoryName(sourceFile)!, "Fixtures");
    }
}
