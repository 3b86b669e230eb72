using Attach.Agent.Broker;
using Attach.Agent.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Attach.Agent.Tests.Broker;

public sealed class BrokerRegistrationTests
{
    [Fact]
    public async Task Heartbeat_FromHost_CarriesInternalKeyToBrokerPath()
    {
        var broker = new FakeBrokerHandler();
        await using var factory = new AgentFactory(
            new Dictionary<string, string?> { ["Agent:BrokerUrl"] = "http://broker.test:5100/" },
            services => services.AddHttpClient<BrokerClient>().ConfigurePrimaryHttpMessageHandler(() => broker));

        using var client = factory.CreateAuthorizedClient();
        var request = await broker.NextRequestAsync();

        Assert.Equal("http://broker.test:5100/api/v1/nodes/node-test/heartbeat", request.Uri.ToString());
        Assert.Equal($"Bearer {AgentFactory.InternalKey}", request.Authorization);
    }

    [Theory]
    [InlineData("http://broker:5100", "http://broker:5100/api/v1/nodes/node-a/heartbeat")]
    [InlineData("http://broker:5100/", "http://broker:5100/api/v1/nodes/node-a/heartbeat")]
    [InlineData("https://gateway.example/broker", "https://gateway.example/broker/api/v1/nodes/node-a/heartbeat")]
    public void HeartbeatPath_BrokerUrlWithOrWithoutPathBase_KeepsPathBase(string brokerUrl, string expected)
    {
        var uri = new Uri(BaseUrl.WithTrailingSlash(new Uri(brokerUrl)), BrokerClient.HeartbeatPath("node-a"));

        Assert.Equal(expected, uri.ToString());
    }

    [Theory]
    [InlineData("http://node-a:5200", "http://node-a:5200/")]
    [InlineData("http://node-a:5200/", "http://node-a:5200/")]
    [InlineData("http://gateway.example/agents/node-a", "http://gateway.example/agents/node-a/")]
    public void WithTrailingSlash_AnyAdvertisedUrl_BindingsResolveUnderIt(string advertised, string expected)
    {
        var baseUrl = BaseUrl.WithTrailingSlash(new Uri(advertised));

        Assert.Equal(expected, baseUrl.ToString());
        Assert.Equal(expected + "api/v1/bindings", new Uri(baseUrl, "api/v1/bindings").ToString());
    }

    [Fact]
    public void HeartbeatPath_NodeIdWithReservedCharacters_Escaped()
    {
        Assert.Equal("api/v1/nodes/gpu%2F1%20a/heartbeat", BrokerClient.HeartbeatPath("gpu/1 a").ToString());
    }
}
