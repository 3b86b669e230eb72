using System.Net;
using System.Text.Json;
using Attach.Contracts.Http;

namespace Attach.Gateway.Dashboard;

/// <summary>
/// The dashboard's reads from the broker: as the user (their kernels, their share of the pool, their usage), or as
/// the gateway itself for an admin (every slice's holder, every kernel, the queue).
/// </summary>
internal sealed class DashboardBrokerClient(IHttpClientFactory clients, ILogger<DashboardBrokerClient> logger)
{
    public const string HttpClientName = "dashboard-broker";

    /// <summary>Reads <paramref name="path"/>; <paramref name="user"/> null reads as the service (admins only).</summary>
    public async Task<DashboardPart> ReadAsync(string path, string? user, CancellationToken cancellationToken)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (user is not null)
            {
                request.Headers.Add(AttachHeaders.User, user);
            }

            using var response = await clients.CreateClient(HttpClientName).SendAsync(request, cancellationToken);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                // An endpoint this broker does not have (yet): said so, never filled in with made-up numbers.
                return DashboardPart.Unavailable($"this broker has no {path}");
            }

            if (!response.IsSuccessStatusCode)
            {
                Log.DashboardBrokerCallFailed(logger, path, $"HTTP {(int)response.StatusCode}");
                return DashboardPart.Unavailable($"the broker answered HTTP {(int)response.StatusCode}");
            }

            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            return DashboardPart.Of(await JsonSerializer.DeserializeAsync<JsonElement>(body, cancellationToken: cancellationToken));
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Log.DashboardBrokerCallFailed(logger, path, ex.Message);
            return DashboardPart.Unavailable("the broker cannot be reached");
        }
    }
}

/// <summary>One section of the dashboard: the broker's answer, or why there is none.</summary>
internal sealed record DashboardPart(bool Available, JsonElement? Data, string? Reason)
{
    public static DashboardPart Of(JsonElement data) => new(true, data, null);

    public static DashboardPart Unavailable(string reason) => new(false, null, reason);
}
