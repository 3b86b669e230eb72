using Attach.BrowserTests.Support;
using Attach.Testing;

namespace Attach.BrowserTests;

/// <summary>The browser harness itself: Debian's Chromium reaches the gateway and logs in with the token URL.</summary>
public sealed class ChromiumSmokeTests
{
    [Fact]
    public async Task Token_url_logs_the_browser_in_and_the_token_leaves_the_address_bar()
    {
        await using var deployment = new EmbeddedDeployment();
        await deployment.StartAsync();
        await using var chromium = await Chromium.LaunchAsync();
        var context = await chromium.NewContextAsync();
        var page = await context.NewPageAsync();

        await page.GotoAsync(new Uri(deployment.GatewayUrl, $"tree?token={deployment.GatewayToken}").ToString());

        Assert.DoesNotContain(deployment.GatewayToken, page.Url, StringComparison.Ordinal);
        var cookies = await context.CookiesAsync();
        Assert.Contains(cookies, c => c.Name == "attach_session");
        await Chromium.ScreenshotAsync(page, "smoke-tree");
    }
}
