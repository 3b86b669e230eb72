using Docker.DotNet;

namespace Attach.Agent.Tests.Containers;

/// <summary>
/// The real Docker engine the container tests run against (started by eng/start-dockerd.sh, which `make test` and
/// .ci/run call), and the local image they run (eng/docker-test-image.sh).
/// </summary>
internal static class DockerEngine
{
    /// <summary>The engine's socket: <c>DOCKER_HOST</c> when it names one, else Docker's default.</summary>
    public static readonly Uri Uri =
        Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } host && host.StartsWith("unix://", StringComparison.Ordinal)
            ? new Uri(host)
            : new Uri("unix:///var/run/docker.sock");

    /// <summary>A busybox-static rootfs imported by eng/docker-test-image.sh; no registry is reachable.</summary>
    public const string TestImage = "attach-test/busybox:1";

    private static readonly Lazy<string?> Unavailable = new(Probe);

    /// <summary>Why the engine cannot be used, or null when it answers.</summary>
    public static string? UnavailableReason => Unavailable.Value;

    /// <summary>CI must run these tests: a missing engine fails them there instead of skipping them.</summary>
    public static bool InCi => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

    public static IDockerClient CreateClient()
    {
        using var configuration = new DockerClientConfiguration(Uri);
        return configuration.CreateClient();
    }

    /// <summary>Fails the test, with the reason and the fix, when the engine or the image is missing.</summary>
    public static async Task EnsureReadyAsync(IDockerClient docker)
    {
        if (UnavailableReason is { } reason)
        {
            Assert.Fail($"{reason} CI is set, so the container tests run and fail instead of being skipped.");
        }

        try
        {
            await docker.Images.InspectImageAsync(TestImage);
        }
        catch (DockerImageNotFoundException)
        {
            Assert.Fail($"The Docker engine has no image {TestImage}. Build it with: bash eng/docker-test-image.sh");
        }
    }

    private static string? Probe()
    {
        if (!File.Exists(Uri.LocalPath))
        {
            return $"No Docker engine: there is no socket at {Uri.LocalPath}. Start one as root with: bash eng/start-dockerd.sh.";
        }

        try
        {
            using var docker = CreateClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            docker.System.PingAsync(timeout.Token).GetAwaiter().GetResult();
            return null;
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException or OperationCanceledException or DockerApiException)
        {
            return $"No Docker engine: {Uri} does not answer ({exception.Message}). Start one as root with: bash eng/start-dockerd.sh.";
        }
    }
}
