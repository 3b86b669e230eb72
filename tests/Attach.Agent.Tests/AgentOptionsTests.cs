using Microsoft.Extensions.Options;

namespace Attach.Agent.Tests;

public sealed class AgentOptionsTests
{
    private static AgentOptions Valid() => new()
    {
        NodeId = "node-a",
        BrokerUrl = new Uri("http://127.0.0.1:5100"),
        AdvertisedUrl = new Uri("http://127.0.0.1:5200"),
    };

    private static ValidateOptionsResult Validate(AgentOptions options) =>
        new DataAnnotationValidateOptions<AgentOptions>(Options.DefaultName).Validate(Options.DefaultName, options);

    [Fact]
    public void Defaults_WithUrls_AreValid()
    {
        var options = Valid();

        Assert.True(Validate(options).Succeeded);
        Assert.Equal(GpuBackendMode.Auto, options.Backend);
        Assert.Equal(TimeSpan.FromSeconds(5), options.HeartbeatInterval);
        Assert.Equal(4, options.Simulated.GpuCount);
        Assert.Equal("A100 80GB", options.Simulated.Model);
        Assert.Equal(81920, options.Simulated.MemoryMiB);
        Assert.Equal(Environment.MachineName, new AgentOptions().NodeId);
    }

    [Fact]
    public void Validate_NoBrokerUrl_SaysWhichVariableToSet()
    {
        var options = Valid();
        options.BrokerUrl = null!;

        var result = Validate(options);

        Assert.True(result.Failed);
        Assert.Contains("Agent__BrokerUrl", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_RelativeAdvertisedUrl_Fails()
    {
        var options = Valid();
        options.AdvertisedUrl = new Uri("agent-host/api", UriKind.Relative);

        Assert.Contains("Agent:AdvertisedUrl must be an absolute http(s) URL", Validate(options).FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(601)]
    public void Validate_HeartbeatIntervalOutOfRange_Fails(int seconds)
    {
        var options = Valid();
        options.HeartbeatInterval = TimeSpan.FromSeconds(seconds);

        Assert.Contains("Agent:HeartbeatInterval", Validate(options).FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65)]
    public void Validate_SimulatedGpuCountOutOfRange_Fails(int count)
    {
        var options = Valid();
        options.Simulated.GpuCount = count;

        Assert.Contains("Agent:Simulated:GpuCount", Validate(options).FailureMessage, StringComparison.Ordinal);
    }
}
