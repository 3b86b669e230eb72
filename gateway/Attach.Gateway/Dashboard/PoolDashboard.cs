using System.Security.Claims;
using Attach.Gateway.Pages;
using Attach.ServiceDefaults.Security;
using Microsoft.Extensions.Options;

namespace Attach.Gateway.Dashboard;

/// <summary>
/// The pool dashboard at <c>/attach/</c>: a page shell (the drawing is dashboard.js's) and one summary the page
/// polls, gathered from the broker on the viewer's behalf. Users see their kernels, slices and usage; admins
/// (<see cref="PoolAdmins"/>) every GPU, every slice's holder, every kernel and the queue.
/// </summary>
internal static class PoolDashboard
{
    public const string Path = "/attach/";
    public const string SummaryPath = "/attach/dashboard/summary";

    public static WebApplicationBuilder AddPoolDashboard(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<PoolAdmins>();
        builder.Services.AddSingleton<DashboardBrokerClient>();
        builder.Services.AddHttpClient(DashboardBrokerClient.HttpClientName, (sp, http) =>
            {
                http.BaseAddress = sp.GetRequiredService<IOptions<GatewayOptions>>().Value.BrokerUrl;
                http.Timeout = TimeSpan.FromSeconds(5);
            })
            .AddHttpMessageHandler<InternalKeyHandler>();
        return builder;
    }

    public static IEndpointRouteBuilder MapPoolDashboard(this IEndpointRouteBuilder app)
    {
        // Routing ignores a trailing slash, so /attach and /attach/ reach the same endpoint.
        app.MapGet(Path, Page).WithTags("Dashboard");
        app.MapGet(SummaryPath, SummaryAsync).WithTags("Dashboard");
        return app;
    }

    internal static IResult Page(HttpContext context, StaticAssets assets)
    {
        if (!context.Request.Path.Value!.EndsWith('/'))
        {
            return TypedResults.Redirect(Path);
        }

        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'self'";
        headers.CacheControl = "private, no-cache";
        headers.XContentTypeOptions = "nosniff";
        var built = assets.Exists("dashboard.js");
        return TypedResults.Content(DashboardHtml.Render(built), "text/html; charset=utf-8");
    }

    internal static async Task<IResult> SummaryAsync(
        ClaimsPrincipal user, PoolAdmins admins, DashboardBrokerClient broker, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var name = user.Identity!.Name!;
        var admin = admins.IsAdmin(user);
        // Admins read as the gateway (the broker's service view); everyone else strictly as themselves.
        var scope = admin ? null : name;
        var kernels = broker.ReadAsync("api/v1/kernels", name, cancellationToken);
        var pool = broker.ReadAsync("api/v1/pool", scope, cancellationToken);
        var history = broker.ReadAsync("api/v1/pool/history?hours=6", name, cancellationToken);
        var usage = broker.ReadAsync("api/v1/usage", name, cancellationToken);
        var queue = admin ? broker.ReadAsync("api/v1/queue", null, cancellationToken) : Task.FromResult(DashboardPart.Unavailable("admins only"));
        var allKernels = admin ? broker.ReadAsync("api/v1/kernels", null, cancellationToken) : Task.FromResult(DashboardPart.Unavailable("admins only"));
        await Task.WhenAll(kernels, pool, history, usage, queue, allKernels);
        return TypedResults.Json(new DashboardSummary(
            name, admin, timeProvider.GetUtcNow(), await kernels, await pool, await history, await usage, await queue, await allKernels));
    }
}

/// <summary>What <c>/attach/dashboard/summary</c> returns.</summary>
internal sealed record DashboardSummary(
    string User,
    bool Admin,
    DateTimeOffset At,
    DashboardPart Kernels,
    DashboardPart Pool,
    DashboardPart History,
    DashboardPart Usage,
    DashboardPart Queue,
    DashboardPart AllKernels);
