using System.Net;
using System.Threading.Channels;

namespace Attach.Agent.Tests.Support;

/// <summary>
/// Stands in for the broker behind an <see cref="HttpClient"/>: records each request (with its body) and answers
/// with whatever <see cref="Respond"/> says, 200 by default.
/// </summary>
internal sealed class FakeBrokerHandler : HttpMessageHandler
{
    private readonly Channel<RecordedRequest> _requests = Channel.CreateUnbounded<RecordedRequest>();

    /// <summary>Decides each answer; throw from it to simulate a broker that cannot be reached.</summary>
    public Func<HttpRequestMessage, HttpResponseMessage> Respond { get; set; } = static _ => new HttpResponseMessage(HttpStatusCode.OK);

    /// <summary>The next request the handler received, waiting up to a few seconds for it.</summary>
    public async Task<RecordedRequest> NextRequestAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await _requests.Reader.ReadAsync(timeout.Token);
    }

    public bool TryTakeRequest(out RecordedRequest? request) => _requests.Reader.TryRead(out request);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
        await _requests.Writer.WriteAsync(new RecordedRequest(request.Method, request.RequestUri!, request.Headers.Authorization?.ToString(), body), cancellationToken);
        return Respond(request);
    }
}
