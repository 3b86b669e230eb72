using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Attach.Broker.History;
using Attach.Broker.Tests.Apis;
using Microsoft.Extensions.DependencyInjection;

namespace Attach.Broker.Tests.History;

/// <summary><c>GET /api/v1/pool/history</c>: pool-wide figures for everyone, per-user figures only for the caller.</summary>
public sealed class PoolHistoryApiTests
{
    [Fact]
    public async Task History_shows_the_pool_to_everyone_and_each_caller_only_their_own_share()
    {
        await using var app = new BrokerApp();
        using var ada = app.CreateClient("ada");
        var history = app.Services.GetRequiredService<PoolHistory>();
        var now = app.Services.GetRequiredService<TimeProvider>().GetUtcNow();
        history.Add(new PoolSample(now.AddMinutes(-1), 15, 4, 4 * 81920, 61440, 2, 0.75, 2, 1, 2, 1, 3.5,
            new Dictionary<string, UserSample> { ["ada"] = new(1, 0.25), ["bob-the-other-user"] = new(1, 0.5) }));

        using var response = await ada.GetAsync("/api/v1/pool/history?hours=1");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain("bob-the-other-user", body, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(body);
        // The broker's own sampler adds samples of its (empty) pool beside the one written here.
        var point = Assert.Single(json.RootElement.GetProperty("points").EnumerateArray(), p => p.GetProperty("slices").GetInt32() == 2);
        Assert.Equal(2, point.GetProperty("slices").GetInt32());
        Assert.Equal(1, point.GetProperty("yourSlices").GetInt32());
        Assert.Equal(0.25, point.GetProperty("yourGpusInUse").GetDouble());
        Assert.Equal(3.5, point.GetProperty("maxWaitSeconds").GetDouble());
        Assert.Equal("ada", json.RootElement.GetProperty("you").GetProperty("user").GetString());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-2")]
    [InlineData("1000")]
    [InlineData("soon")]
    public async Task A_window_outside_the_retention_is_refused_with_a_problem(string hours)
    {
        await using var app = new BrokerApp();
        using var ada = app.CreateClient("ada");

        using var response = await ada.GetAsync($"/api/v1/pool/history?hours={hours}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task History_needs_the_internal_key()
    {
        await using var app = new BrokerApp();
        using var anonymous = app.CreateClient(user: "ada", key: null);

        using var response = await anonymous.GetAsync("/api/v1/pool/history");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task The_running_broker_samples_its_pool()
    {
        await using var app = new BrokerApp { Settings = [("Broker:History:SampleInterval", "00:00:01")] };
        using var ada = app.CreateClient("ada");

        var view = await ada.GetFromJsonAsync<JsonElement>("/api/v1/pool/history?hours=1");

        Assert.NotEmpty(view.GetProperty("points").EnumerateArray());
        Assert.Equal(1, view.GetProperty("intervalSeconds").GetDouble());
    }
}
