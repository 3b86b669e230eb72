using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Attach.ServiceDefaults.Http;

/// <summary>
/// For clients of the broker when several brokers share one PostgreSQL (one leads, the others follow): a follower, or a
/// deposed leader, refuses every decision with a 503 problem that names the leader and, when the brokers advertise
/// one (<c>Broker:Leadership:AdvertisedUrl</c>), its URL. This handler sends such a request again to that URL and keeps
/// sending there until the leader stops answering (connection refused, or its own 503 naming another leader), then
/// goes back to the configured broker. Without an advertised URL the 503 is passed on, as before.
/// </summary>
/// <remarks>
/// Placed nearest the socket (after the resilience handler), so a follower's refusal is followed at once instead of
/// being retried as a transient failure. The request's content is buffered once so it can be sent a second time.
/// The URL comes from a broker that answered with the internal key's audience, on the brokers' own network.
/// </remarks>
public sealed partial class LeaderFollowingHandler(ILogger<LeaderFollowingHandler> logger) : DelegatingHandler
{
    private const string ProblemJson = "application/problem+json";

    /// <summary>The leader's base URL learned from a refusal; null while the configured broker is used.</summary>
    private Uri? _leader;

    /// <summary>The leader this handler follows now, if any (for tests and diagnostics).</summary>
    public Uri? Leader => Volatile.Read(ref _leader);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var configured = request.RequestUri ?? throw new InvalidOperationException("The request has no URI.");
        if (request.Content is { } content)
        {
            await content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        }

        if (Leader is { } known)
        {
            try
            {
                var atLeader = await base.SendAsync(await CopyAsync(request, Rebase(configured, known), cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
                if (atLeader.StatusCode != HttpStatusCode.ServiceUnavailable)
                {
                    return atLeader;
                }

                atLeader.Dispose();
            }
            catch (HttpRequestException ex)
            {
                LogLeaderUnreachable(logger, known, ex.Message);
            }

            // The leader moved or went away: ask the configured broker again, which names the current one.
            Interlocked.CompareExchange(ref _leader, null, known);
        }

        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.ServiceUnavailable
            || await LeaderUrlOfAsync(response, cancellationToken).ConfigureAwait(false) is not { } leader
            || SameOrigin(leader, configured))
        {
            return response;
        }

        LogFollowingLeader(logger, configured.GetLeftPart(UriPartial.Authority), leader);
        Volatile.Write(ref _leader, leader);
        response.Dispose();
        return await base.SendAsync(await CopyAsync(request, Rebase(configured, leader), cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The leader's URL from a broker's refusal: the problem's <c>leader.url</c>, if it is an absolute http(s) URL.</summary>
    internal static async Task<Uri?> LeaderUrlOfAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentType?.MediaType is not (ProblemJson or "application/json"))
        {
            return null;
        }

        await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
            return problem.RootElement.ValueKind == JsonValueKind.Object
                && problem.RootElement.TryGetProperty("leader", out var leader) && leader.ValueKind == JsonValueKind.Object
                && leader.TryGetProperty("url", out var url) && url.ValueKind == JsonValueKind.String
                && Uri.TryCreate(url.GetString(), UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
                ? new Uri(uri.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/")
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The same API path and query on the leader: what follows the configured broker's own path base (everything from
    /// <c>/api/</c>, where every broker serves its API) goes under the leader's advertised URL, path base and all.
    /// </summary>
    public static Uri Rebase(Uri requestUri, Uri leader)
    {
        ArgumentNullException.ThrowIfNull(requestUri);
        var path = requestUri.PathAndQuery;
        var api = path.IndexOf("/api/", StringComparison.Ordinal);
        return new Uri(leader, api >= 0 ? path[(api + 1)..] : path.TrimStart('/'));
    }

    private static bool SameOrigin(Uri a, Uri b) =>
        string.Equals(a.GetLeftPart(UriPartial.Authority), b.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase);

    private static async Task<HttpRequestMessage> CopyAsync(HttpRequestMessage request, Uri uri, CancellationToken cancellationToken)
    {
        var copy = new HttpRequestMessage(request.Method, uri) { Version = request.Version, VersionPolicy = request.VersionPolicy };
        foreach (var (name, values) in request.Headers)
        {
            copy.Headers.TryAddWithoutValidation(name, values);
        }

        if (request.Content is { } content)
        {
            var body = new ByteArrayContent(await content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
            foreach (var (name, values) in content.Headers)
            {
                body.Headers.TryAddWithoutValidation(name, values);
            }

            copy.Content = body;
        }

        foreach (var option in request.Options)
        {
            copy.Options.Set(new HttpRequestOptionsKey<object?>(option.Key), option.Value);
        }

        return copy;
    }

    [LoggerMessage(9100, LogLevel.Information, "Broker {Broker} does not lead; following the leader at {Leader} for further calls")]
    private static partial void LogFollowingLeader(ILogger logger, string broker, Uri leader);

    [LoggerMessage(9101, LogLevel.Warning, "The leading broker at {Leader} did not answer ({Reason}); asking the configured broker which one leads now")]
    private static partial void LogLeaderUnreachable(ILogger logger, Uri leader, string reason);
}
