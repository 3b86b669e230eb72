using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Attach.Gateway.Tests.Hosting;

/// <summary>One request a backend received, as it arrived.</summary>
internal sealed record RecordedRequest(string Method, string Path, string Query, string? Authorization, string? Cookie, string? Host);

/// <summary>
/// A real HTTP server on 127.0.0.1 standing in for a Jupyter Server or code-server: it records every request
/// (so a test can prove a request never reached it), answers with its name and the path it saw, serves an
/// HTML page containing <see cref="PageSecret"/> at <c>…/page</c>, and echoes WebSocket messages.
/// </summary>
internal sealed class RecordingBackend : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RecordingBackend(WebApplication app, string name)
    {
        _app = app;
        Name = name;
    }

    public string Name { get; }

    public Uri Url { get; private set; } = null!;

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>The kernels <c>GET …/api/kernels/{id}</c> finds; any other id is 404, as on a Jupyter Server.</summary>
    public HashSet<string> KernelIds { get; } = [];

    /// <summary>When set, <c>…/api/status</c> answers as Jupyter Server's does to an authenticated caller.</summary>
    public bool AnswersJupyterStatus { get; set; }

    /// <summary>Written into the HTML page, like Jupyter's template writes its token.</summary>
    public string PageSecret { get; set; } = "";

    public static async Task<RecordingBackend> StartAsync(string name)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var backend = new RecordingBackend(app, name);
        app.UseWebSockets();
        app.Run(backend.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        backend.Url = new Uri(address.TrimEnd('/') + "/");
        return backend;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        Requests.Enqueue(new RecordedRequest(request.Method, request.Path.Value ?? "", request.QueryString.Value ?? "",
            request.Headers.Authorization.ToString() is { Length: > 0 } a ? a : null,
            request.Headers.Cookie.ToString() is { Length: > 0 } c ? c : null,
            request.Headers.Host.ToString()));
        if (context.WebSockets.IsWebSocketRequest)
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var buffer = new byte[4096];
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    return;
                }

                await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, CancellationToken.None);
            }
        }

        var segments = (request.Path.Value ?? "").Split('/');
        if (segments is [.., "api", "kernels", var kernelId] && !KernelIds.Contains(kernelId))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        if (AnswersJupyterStatus && request.Path.Value?.EndsWith("/api/status", StringComparison.Ordinal) == true)
        {
            await context.Response.WriteAsJsonAsync(new { started = "2026-11-28T12:00:00.000000Z", last_activity = "2026-11-28T12:00:00.000000Z", connections = 0, kernels = 0 });
            return;
        }

        if (request.Path.Value?.EndsWith("/page", StringComparison.Ordinal) == true)
        {
            context.Response.ContentType = "text/html; charset=utf-8";
            await context.Response.WriteAsync($"<html><body data-jupyter-api-token=\"{PageSecret}\">{Name}</body></html>");
            return;
        }

        await context.Response.WriteAsJsonAsync(new { backend = Name, path = request.Path.Value, query = request.QueryString.Value });
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
