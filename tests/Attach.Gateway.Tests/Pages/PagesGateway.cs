using System.Collections.Concurrent;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Hosting;

namespace Attach.Gateway.Tests.Pages;

/// <summary>
/// The real gateway (in memory) in front of a real Kestrel backend on 127.0.0.1 that answers each path as the test
/// says. The backend is both the Jupyter Server and the broker, so a test sees what each is asked and with which
/// user header. The badge's static folder is a temporary one with a badge.js in it.
/// </summary>
internal sealed class PagesGateway : WebApplicationFactory<Program>
{
    public const string Token = "gateway-token-0123456789abcdefghijklmnopqrstuv";
    public const string JupyterToken = "jupyter-token-abcdefghijklmnopqrstuvwxyz0123";
    public const string User = "ada";

    private readonly WebApplication _backend;
    private readonly string _static = Directory.CreateTempSubdirectory("attach-static-").FullName;

    private PagesGateway(WebApplication backend, IReadOnlyList<(string Key, string Value)> settings)
    {
        _backend = backend;
        Settings = settings;
        File.WriteAllText(Path.Combine(_static, "badge.js"), "/* the badge */");
        File.WriteAllText(Path.Combine(_static, "dashboard.js"), "/* the dashboard */");
    }

    public IReadOnlyList<(string Key, string Value)> Settings { get; }

    /// <summary>What the backend answers, by path.</summary>
    public ConcurrentDictionary<string, Func<HttpContext, Task>> Routes { get; } = new(StringComparer.Ordinal);

    /// <summary>Every request the backend got: path and headers.</summary>
    public ConcurrentQueue<(string Path, IHeaderDictionary Headers)> Received { get; } = new();

    public string StaticDirectory => _static;

    public static async Task<PagesGateway> StartAsync(params (string Key, string Value)[] settings)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var backend = builder.Build();
        PagesGateway? gateway = null;
        backend.Run(async context =>
        {
            gateway!.Received.Enqueue((context.Request.Path + context.Request.QueryString, new HeaderDictionary(context.Request.Headers.ToDictionary())));
            if (gateway.Routes.TryGetValue(context.Request.Path.Value!, out var handler))
            {
                await handler(context);
            }
            else
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
            }
        });
        await backend.StartAsync();
        gateway = new PagesGateway(backend, settings);
        return gateway;
    }

    /// <summary>A client of the gateway as the user, asking for pages the way a browser navigation does.</summary>
    public HttpClient Browser(bool authenticated = true)
    {
        var client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        if (authenticated)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("token", Token);
        }

        client.DefaultRequestHeaders.Accept.ParseAdd("text/html,application/xhtml+xml,*/*;q=0.8");
        return client;
    }

    /// <summary>Serves <paramref name="body"/> at <paramref name="path"/> with the given content type and headers.</summary>
    public void Serve(string path, string contentType, byte[] body, params (string Name, string Value)[] headers) =>
        Routes[path] = async context =>
        {
            context.Response.ContentType = contentType;
            foreach (var (name, value) in headers)
            {
                context.Response.Headers.Append(name, value);
            }

            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body);
        };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        var backend = new Uri(_backend.Urls.First());
        builder.UseEnvironment("Development");
        builder.UseSetting("Gateway:JupyterUrl", backend.ToString());
        builder.UseSetting("Gateway:BrokerUrl", backend.ToString());
        builder.UseSetting("Gateway:JupyterToken", JupyterToken);
        builder.UseSetting("Gateway:Token", Token);
        builder.UseSetting("Gateway:User", User);
        builder.UseSetting("Gateway:Pages:StaticDirectory", _static);
        builder.UseSetting("Attach:InternalKey", "internal-key-0123456789abcdefghijklmnopqrstuv");
        builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await _backend.DisposeAsync();
        Directory.Delete(_static, recursive: true);
    }
}
