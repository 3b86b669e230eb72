using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Attach.Gateway.Pages;

/// <summary>
/// The badge and dashboard scripts under <c>/attach/static/</c>: an endpoint, so the gateway's fallback policy
/// authenticates them like every route. Same origin as the proxied pages, so a page's CSP <c>'self'</c> admits them.
/// </summary>
internal sealed partial class StaticAssets(IOptions<PagesOptions> options)
{
    public const string RequestPath = "/attach/static";

    public string Directory { get; } = options.Value.ResolvedStaticDirectory;

    public bool Exists(string name) => File.Exists(Path.Combine(Directory, name));

    public IEndpointConventionBuilder Map(IEndpointRouteBuilder app) =>
        app.MapGet(RequestPath + "/{name}", (string name, HttpContext context) => Serve(name, context)).WithTags("Pages");

    internal IResult Serve(string name, HttpContext context)
    {
        if (!AssetName().IsMatch(name) || !Exists(name))
        {
            return TypedResults.Problem(
                Exists("badge.js")
                    ? $"There is no asset {name} under {RequestPath}/."
                    : $"The gateway's page assets are not built (looked in {Directory}); run `make build` (it builds notebook-extension/badge).",
                statusCode: StatusCodes.Status404NotFound,
                title: "Asset not found");
        }

        var file = new FileInfo(Path.Combine(Directory, name));
        var contentType = Path.GetExtension(name) switch
        {
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            _ => "application/json; charset=utf-8",
        };
        // Authenticated content: private, and revalidated so a rebuilt badge reaches every page on its next load.
        context.Response.Headers.CacheControl = "private, no-cache";
        context.Response.Headers.XContentTypeOptions = "nosniff";
        var tag = new EntityTagHeaderValue($"\"{file.Length:x}-{file.LastWriteTimeUtc.Ticks:x}\"");
        return TypedResults.PhysicalFile(file.FullName, contentType, lastModified: file.LastWriteTimeUtc, entityTag: tag);
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,63}\\.(js|css|map)$")]
    private static partial Regex AssetName();
}
