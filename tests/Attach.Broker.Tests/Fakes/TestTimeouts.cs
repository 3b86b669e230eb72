namespace Attach.Broker.Tests.Fakes;

/// <summary>How long a test waits for something that should happen almost at once before it fails.</summary>
internal static class TestTimeouts
{
    public static readonly TimeSpan Event = TimeSpan.FromSeconds(10);
}
