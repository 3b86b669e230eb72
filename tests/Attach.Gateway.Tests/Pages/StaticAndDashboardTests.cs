using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Attach.Contracts.Http;
using Microsoft.AspNetCore.Http;

namespace Attach.Gateway.Tests.Pages;

/// <summary>The gateway's own pages: the badge's assets under <c>/attach/static/</c> and the pool dashboard at <c>/attach/</c>.</summary>
public sealed class StaticAndDashboardTests
{
    [Fact]
    public async Task The_badge_script_is_served_to_signed_in_users_only()
    {
        await using var gateway = await PagesGateway.StartAsync();
        using var anonymous = gateway.Browser(authenticated: false);
        using var user = gateway.Browser();

        using var refused = await anonymous.GetAsync("/attach/static/badge.js");
        using var served = await user.GetAsync("/attach/static/badge.js");

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal("text/javascript", served.Content.Headers.ContentType?.MediaType);
        Assert.Equal("/* the badge */", await served.Content.ReadAsStringAsync());
        Assert.True(served.Headers.CacheControl?.Private);
    }

    [Fact]
    public async Task A_browser_revalidates_the_badge_with_its_etag()
    {
        await using var gateway = await PagesGateway.StartAsync();
        using var user = gateway.Browser();
        using var first = await user.GetAsync("/attach/static/badge.js");

        using var request = new HttpRequestMessage(HttpMethod.Get, "/attach/static/badge.js");
        request.Headers.IfNoneMatch.Add(first.Headers.ETag!);
        using var second = await user.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
    }

    [Theory]
    [InlineData("/attach/static/..%2Fsecrets.js")]
    [InlineData("/attach/static/nothing.js")]
    [InlineData("/attach/static/badge.exe")]
    public async Task Only_the_built_assets_are_served(string path)
    {
        await using var gateway = await PagesGateway.StartAsync();
        File.WriteAllText(Path.Combine(gateway.StaticDirectory, "..", "secrets.js"), "TOP-SECRET-CONTENT");
        using var user = gateway.Browser();

        using var response = await user.GetAsync(path);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.DoesNotContain("TOP-SECRET-CONTENT", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_dashboard_page_needs_a_signed_in_user_and_loads_only_same_origin_scripts()
    {
        await using var gateway = await PagesGateway.StartAsync();
        using var anonymous = gateway.Browser(authenticated: false);
        using var user = gateway.Browser();

        using var refused = await anonymous.GetAsync("/attach/");
        using var page = await user.GetAsync("/attach/");

        Assert.True(HttpStatusCode.Unauthorized == refused.StatusCode, await refused.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("script-src 'self'", string.Join(", ", page.Headers.GetValues("Content-Security-Policy")), StringComparison.Ordinal);
        Assert.Contains("<script src=\"/attach/static/dashboard.js\" defer></script>", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_user_summary_asks_the_broker_as_that_user_and_says_what_the_broker_lacks()
    {
        await using var gateway = await PagesGateway.StartAsync();
        ServeJson(gateway, "/api/v1/kernels", "[]");
        ServeJson(gateway, "/api/v1/pool", "{\"nodes\":[]}");
        ServeJson(gateway, "/api/v1/pool/history", "{\"points\":[]}");
        using var user = gateway.Browser();

        var summary = await GetSummaryAsync(user);

        Assert.False(summary.GetProperty("admin").GetBoolean());
        Assert.True(summary.GetProperty("pool").GetProperty("available").GetBoolean());
        // No /api/v1/usage on this broker: said so, not invented.
        Assert.False(summary.GetProperty("usage").GetProperty("available").GetBoolean());
        Assert.False(summary.GetProperty("allKernels").GetProperty("available").GetBoolean());
        // (The gateway's connection warmer also reads /api/v1/pool, and the kernel channel the detection rules, as itself; the dashboard's reads are the user's.)
        Assert.All(gateway.Received.Where(r => r.Path.StartsWith("/api/v1/", StringComparison.Ordinal) && r.Path is not "/api/v1/pool" and not "/api/v1/detection/rules"),
            r => Assert.Equal(PagesGateway.User, r.Headers[AttachHeaders.User].ToString()));
        Assert.Contains(gateway.Received, r => r.Path == "/api/v1/pool" && r.Headers[AttachHeaders.User] == PagesGateway.User);
        Assert.DoesNotContain(gateway.Received, r => r.Path.StartsWith("/api/v1/queue", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_admin_summary_reads_the_whole_pool_as_the_gateway()
    {
        await using var gateway = await PagesGateway.StartAsync(("Gateway:Admins:0", PagesGateway.User));
        ServeJson(gateway, "/api/v1/kernels", "[]");
        ServeJson(gateway, "/api/v1/pool", "{\"nodes\":[]}");
        ServeJson(gateway, "/api/v1/queue", "[]");
        using var user = gateway.Browser();

        var summary = await GetSummaryAsync(user);

        Assert.True(summary.GetProperty("admin").GetBoolean());
        Assert.True(summary.GetProperty("queue").GetProperty("available").GetBoolean());
        Assert.Contains(gateway.Received, r => r.Path == "/api/v1/pool");
        Assert.DoesNotContain(gateway.Received, r => r.Path == "/api/v1/pool" && r.Headers.ContainsKey(AttachHeaders.User));
        // The user's own kernels are still read as the user.
        Assert.Contains(gateway.Received, r => r.Path == "/api/v1/kernels" && r.Headers[AttachHeaders.User] == PagesGateway.User);
    }

    private static void ServeJson(PagesGateway gateway, string path, string json) =>
        gateway.Routes[path] = async context =>
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(json);
        };

    private static async Task<JsonElement> GetSummaryAsync(HttpClient client)
    {
        client.DefaultRequestHeaders.Accept.Clear();
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await client.GetAsync("/attach/dashboard/summary");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonSerializer.Deserialize<JsonElement>(await response.Content.ReadAsStringAsync());
    }
}
