using System.ComponentModel.DataAnnotations;

namespace Attach.Gateway.Pages;

/// <summary>What the gateway adds to the pages it proxies, and where its own assets are (section <c>Gateway:Pages</c>).</summary>
internal sealed class PagesOptions
{
    public const string Section = GatewayOptions.Section + ":Pages";

    /// <summary>
    /// Insert the GPU-state badge's script tag into HTML pages from the Jupyter and code-server backends.
    /// Off leaves every page byte for byte as the backend sent it (the dashboard still works).
    /// </summary>
    public bool InjectBadge { get; set; } = true;

    /// <summary>Pages larger than this are passed through without the badge rather than held in memory.</summary>
    [Range(64 * 1024, 256L * 1024 * 1024)]
    public long MaxPageBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>
    /// The folder the badge and dashboard scripts are served from (<c>/attach/static/</c>); by default the
    /// <c>attach-static</c> folder the build copies beside the gateway (<c>make</c> builds notebook-extension/badge).
    /// </summary>
    public string? StaticDirectory { get; set; }

    /// <summary>The folder static assets come from.</summary>
    public string ResolvedStaticDirectory => string.IsNullOrEmpty(StaticDirectory)
        ? Path.Combine(AppContext.BaseDirectory, "attach-static")
        : Path.GetFullPath(StaticDirectory);
}
