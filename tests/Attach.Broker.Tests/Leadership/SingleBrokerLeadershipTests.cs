using System.Net.Http.Json;
using Attach.Broker.Leadership;
using Attach.Broker.Tests.Apis;

namespace Attach.Broker.Tests.Leadership;

/// <summary>A broker on SQLite or memory is alone on its store: it leads from the start, without an election.</summary>
public sealed class SingleBrokerLeadershipTests
{
    [Fact]
    public async Task BrokerAloneOnItsStore_LeadsWithoutElection()
    {
        await using var app = new BrokerApp { Settings = [("Broker:Leadership:BrokerId", "solo")] };
        using var client = app.CreateClient(null);

        var view = await client.GetFromJsonAsync<LeaderView>(LeadershipApi.Path);
        var metrics = await client.GetStringAsync("/metrics");

        Assert.Equal(("solo", "Leader", true, false), (view!.BrokerId, view.Role, view.Leading, view.Elected));
        Assert.Contains("attach_broker_leader 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LeaderRoute_WithoutTheKey_IsUnauthorized()
    {
        await using var app = new BrokerApp();
        using var anonymous = app.CreateClient(null, key: null);

        using var response = await anonymous.GetAsync(LeadershipApi.Path);

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
