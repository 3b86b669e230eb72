using System.Net;
using System.Text.RegularExpressions;
using Attach.Gateway.Security;
using Attach.Gateway.Tests.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Attach.Gateway.Tests.Security;

/// <summary>The browser login form: the right token sets the session cookie; anything else gets one message and no cookie.</summary>
public sealed partial class LoginPageTests : IAsyncLifetime
{
    private TwoUsers _users = null!;
    private GatewayFactory _gateway = null!;

    public async Task InitializeAsync()
    {
        _users = await TwoUsers.StartAsync();
        _gateway = new GatewayFactory(_users.Settings());
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _users.DisposeAsync();
    }

    private HttpClient Browser() => _gateway.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });

    private static async Task<string> CsrfAsync(HttpClient browser, string query = "")
    {
        var page = await browser.GetStringAsync(LoginPage.Path + query);
        return CsrfField().Match(page).Groups[1].Value;
    }

    private static FormUrlEncodedContent Form(string csrf, string token, string next = "") => new(new Dictionary<string, string>
    {
        [LoginPage.CsrfField] = csrf,
        [LoginPage.TokenField] = token,
        [LoginPage.NextField] = next,
    });

    [Fact]
    public async Task TheRightToken_SetsTheSessionCookie_AndGoesToTheUsersServer()
    {
        using var browser = Browser();
        var csrf = await CsrfAsync(browser);

        using var login = await browser.PostAsync(LoginPage.Path, Form(csrf, _users.BobToken));

        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Equal("/user/bob/", login.Headers.Location!.OriginalString);
        Assert.Contains(login.Headers.GetValues("Set-Cookie"), c => c.StartsWith(GatewayAuthDefaults.CookieName + "=", StringComparison.Ordinal));
        using var server = await browser.GetAsync("/user/bob/api/status");
        Assert.Equal(HttpStatusCode.OK, server.StatusCode);
        // The session cookie is the gateway's: Jupyter never sees it.
        Assert.DoesNotContain(GatewayAuthDefaults.CookieName, Assert.Single(_users.BobJupyter.Requests).Cookie ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALocalNextAddress_IsFollowed_ButAnotherSiteIsNot()
    {
        using var browser = Browser();

        using var local = await browser.PostAsync(LoginPage.Path, Form(await CsrfAsync(browser), _users.AdaToken, "/user/ada/lab?x=1"));
        using var elsewhere = await browser.PostAsync(LoginPage.Path, Form(await CsrfAsync(browser), _users.AdaToken, "//evil.example/"));

        Assert.Equal("/user/ada/lab?x=1", local.Headers.Location!.OriginalString);
        Assert.Equal("/user/ada/", elsewhere.Headers.Location!.OriginalString);
    }

    [Theory]
    [InlineData("wrong-token-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")]
    [InlineData(" ")]
    public async Task AWrongToken_GetsAClearMessage_AndNoSession(string token)
    {
        using var browser = Browser();

        using var login = await browser.PostAsync(LoginPage.Path, Form(await CsrfAsync(browser), token));

        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
        Assert.Contains("That token is not valid.", await login.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(login.Headers.TryGetValues("Set-Cookie", out var cookies) && cookies.Any(c => c.StartsWith(GatewayAuthDefaults.CookieName + "=", StringComparison.Ordinal)));
        using var server = await browser.GetAsync("/user/ada/api/status");
        Assert.Equal(HttpStatusCode.Unauthorized, server.StatusCode);
    }

    [Fact]
    public async Task APostWithoutTheFormsAntiforgeryToken_IsRefused_EvenWithTheRightToken()
    {
        using var browser = Browser();
        await CsrfAsync(browser);

        using var login = await browser.PostAsync(LoginPage.Path, Form("", _users.AdaToken));
        using var forged = await _gateway.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false })
            .PostAsync(LoginPage.Path, Form(await CsrfAsync(browser), _users.AdaToken));

        Assert.Equal(HttpStatusCode.BadRequest, login.StatusCode);
        // A request token without its cookie (what a forging site can send) is refused too.
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.All(new[] { login, forged }, r => Assert.False(r.Headers.Contains("Set-Cookie") && r.Headers.GetValues("Set-Cookie").Any(c => c.StartsWith(GatewayAuthDefaults.CookieName + "=", StringComparison.Ordinal))));
    }

    [Fact]
    public async Task TheLoginPage_IsNotCachedAndCannotBeFramed()
    {
        using var browser = Browser();

        using var page = await browser.GetAsync(LoginPage.Path);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("no-store", page.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", string.Join(";", page.Headers.GetValues("Content-Security-Policy")), StringComparison.Ordinal);
    }

    [GeneratedRegex("name=\"__attach_csrf\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();
}
