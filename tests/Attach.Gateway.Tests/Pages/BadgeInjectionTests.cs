using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;

namespace Attach.Gateway.Tests.Pages;

/// <summary>
/// The badge's script tag in pages proxied from the Jupyter Server, through the real gateway pipeline (YARP and its
/// transforms) against a real backend: where it goes, what stays untouched, and the headers that follow the new body.
/// </summary>
public sealed partial class BadgeInjectionTests
{
    private const string Tag = "<script src=\"/attach/static/badge.js\" defer></script>";
    private const string Page = "<!doctype html><html><head><title>Notebook</title></head><body><div id=\"notebook\">cells</div></body></html>";

    [Fact]
    public async Task An_html_page_gets_one_script_tag_just_before_the_end_of_its_head()
    {
        await using var gateway = await PagesGateway.StartAsync();
        gateway.Serve("/notebooks/a.ipynb", "text/html; charset=UTF-8", Encoding.UTF8.GetBytes(Page));
        using var browser = gateway.Browser();

        using var response = await browser.GetAsync("/notebooks/a.ipynb");
        var body = await response.Content.ReadAsByteArrayAsync();
        var html = Encoding.UTF8.GetString(body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Page.Replace("</head>", Tag + "</head>", StringComparison.Ordinal), html);
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task A_page_without_a_head_gets_the_tag_before_the_end_of_its_body()
    {
        await using var gateway = await PagesGateway.StartAsync();
        const string headless = "<html><body><p>hello</p></body></html>";
        gateway.Serve("/view/a.html", "text/html", Encoding.UTF8.GetBytes(headless));
        using var browser = gateway.Browser();

        var html = await browser.GetStringAsync("/view/a.html");

        Assert.Equal("<html><body><p>hello</p>" + Tag + "</body></html>", html);
    }

    [Fact]
    public async Task A_fragment_with_neither_head_nor_body_stays_as_it_is()
    {
        await using var gateway = await PagesGateway.StartAsync();
        gateway.Serve("/fragment", "text/html", "<li>an item</li>"u8.ToArray());
        using var browser = gateway.Browser();

        Assert.Equal("<li>an item</li>", await browser.GetStringAsync("/fragment"));
    }

    [Fact]
    public async Task Non_html_responses_pass_byte_for_byte()
    {
        await using var gateway = await PagesGateway.StartAsync();
        var json = "{\"html\": \"<head></head>\"}"u8.ToArray();
        gateway.Serve("/api/contents/a.json", "application/json", json);
        using var browser = gateway.Browser();

        using var response = await browser.GetAsync("/api/contents/a.json");

        Assert.Equal(json, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task The_off_switch_leaves_every_page_as_the_backend_sent_it()
    {
        await using var gateway = await PagesGateway.StartAsync(("Gateway:Pages:InjectBadge", "false"));
        gateway.Serve("/tree", "text/html", Encoding.UTF8.GetBytes(Page), ("ETag", "\"v1\""));
        using var browser = gateway.Browser();

        using var response = await browser.GetAsync("/tree");

        Assert.Equal(Page, await response.Content.ReadAsStringAsync());
        Assert.Equal("\"v1\"", response.Headers.ETag?.ToString());
    }

    [Fact]
    public async Task A_rewritten_page_gets_a_weak_etag_and_keeps_its_vary_and_cache_headers()
    {
        await using var gateway = await PagesGateway.StartAsync();
        gateway.Serve("/tree", "text/html", Encoding.UTF8.GetBytes(Page),
            ("ETag", "\"abc123\""), ("Vary", "Accept-Encoding"), ("Cache-Control", "no-cache"));
        using var browser = gateway.Browser();

        using var response = await browser.GetAsync("/tree");

        Assert.Equal("W/\"abc123\"", response.Headers.ETag?.ToString());
        Assert.Contains("Accept-Encoding", response.Headers.Vary);
        Assert.True(response.Headers.CacheControl?.NoCache);
        Assert.Equal((await response.Content.ReadAsByteArrayAsync()).Length, response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task Pages_are_asked_for_uncompressed_and_a_compressed_one_is_decompressed_and_rewritten()
    {
        await using var gateway = await PagesGateway.StartAsync();
        // A backend that compresses whatever it is asked: the gateway still has to read the page.
        gateway.Serve("/edit/a.py", "text/html", Gzip(Page), ("Content-Encoding", "gzip"));
        using var browser = gateway.Browser();
        browser.DefaultRequestHeaders.AcceptEncoding.ParseAdd("gzip, br");

        using var response = await browser.GetAsync("/edit/a.py");
        var html = Encoding.UTF8.GetString(await response.Content.ReadAsByteArrayAsync());

        Assert.Empty(response.Content.Headers.ContentEncoding);
        Assert.Contains(Tag + "</head>", html, StringComparison.Ordinal);
        var (_, headers) = Assert.Single(gateway.Received, r => r.Path == "/edit/a.py");
        Assert.Equal("", headers.AcceptEncoding.ToString());
    }

    [Fact]
    public async Task A_page_in_an_encoding_the_gateway_cannot_read_is_not_sent_out_half_rewritten()
    {
        await using var gateway = await PagesGateway.StartAsync();
        gateway.Serve("/other", "text/html", [1, 2, 3, 4], ("Content-Encoding", "x-unknown"));
        using var browser = gateway.Browser();

        using var response = await browser.GetAsync("/other");

        // The Jupyter route's token scrubber fails closed on pages it cannot read; the badge adds nothing to it.
        Assert.DoesNotContain("badge.js", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_page_whose_csp_admits_self_gets_the_tag_and_an_unchanged_policy()
    {
        await using var gateway = await PagesGateway.StartAsync();
        const string policy = "frame-ancestors 'self'; default-src 'self'; report-uri /api/security/csp-report";
        gateway.Serve("/tree", "text/html", Encoding.UTF8.GetBytes(Page), ("Content-Security-Policy", policy));
        using var browser = gateway.Browser();

        using var response = await browser.GetAsync("/tree");

        Assert.Equal(policy, string.Join(", ", response.Headers.GetValues("Content-Security-Policy")));
        Assert.Contains(Tag, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_page_with_a_nonce_policy_gets_the_tag_with_its_own_nonce()
    {
        await using var gateway = await PagesGateway.StartAsync();
        const string policy = "script-src 'nonce-r4nd0m' 'strict-dynamic'; object-src 'none'";
        gateway.Serve("/lab", "text/html", Encoding.UTF8.GetBytes(Page), ("Content-Security-Policy", policy));
        using var browser = gateway.Browser();

        using var response = await browser.GetAsync("/lab");

        Assert.Equal(policy, string.Join(", ", response.Headers.GetValues("Content-Security-Policy")));
        Assert.Contains("<script src=\"/attach/static/badge.js\" defer nonce=\"r4nd0m\"></script></head>", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_page_whose_csp_admits_only_other_hosts_gets_a_nonce_added_for_the_badge_alone()
    {
        await using var gateway = await PagesGateway.StartAsync();
        gateway.Serve("/tree", "text/html", Encoding.UTF8.GetBytes(Page), ("Content-Security-Policy", "default-src https://cdn.example.org; img-src *"));
        using var browser = gateway.Browser();

        using var response = await browser.GetAsync("/tree");
        var policy = string.Join(", ", response.Headers.GetValues("Content-Security-Policy"));
        var html = await response.Content.ReadAsStringAsync();

        var nonce = NonceAttribute().Match(html).Groups[1].Value;
        Assert.NotEmpty(nonce);
        Assert.Equal($"default-src https://cdn.example.org; img-src *; script-src https://cdn.example.org 'nonce-{nonce}'", policy);
    }

    [Fact]
    public async Task A_csp_meta_tag_in_the_page_gets_the_badges_nonce_too()
    {
        await using var gateway = await PagesGateway.StartAsync();
        var page = Page.Replace("<title>", "<meta http-equiv=\"content-security-policy\" content='script-src https://cdn.example.org &amp; more'><meta charset=\"utf-8\"><title>", StringComparison.Ordinal);
        gateway.Serve("/tree", "text/html", Encoding.UTF8.GetBytes(page));
        using var browser = gateway.Browser();

        using var response = await browser.GetAsync("/tree");
        var html = await response.Content.ReadAsStringAsync();

        var nonce = NonceAttribute().Match(html).Groups[1].Value;
        Assert.NotEmpty(nonce);
        Assert.Equal(
            page.Replace("content='script-src https://cdn.example.org &amp; more'", $"content=\"script-src https://cdn.example.org &amp; more 'nonce-{nonce}'\"", StringComparison.Ordinal)
                .Replace("</head>", $"<script src=\"/attach/static/badge.js\" defer nonce=\"{nonce}\"></script></head>", StringComparison.Ordinal),
            html);
        Assert.False(response.Headers.Contains("Content-Security-Policy"));
        Assert.Equal(html.Length, response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task A_csp_meta_tag_that_forbids_every_script_keeps_the_badge_out_and_the_page_as_it_was()
    {
        await using var gateway = await PagesGateway.StartAsync();
        var page = Page.Replace("<title>", "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\"><title>", StringComparison.Ordinal);
        gateway.Serve("/tree", "text/html", Encoding.UTF8.GetBytes(page));
        using var browser = gateway.Browser();

        Assert.Equal(page, await browser.GetStringAsync("/tree"));
    }

    [Theory]
    [InlineData("script-src 'none'")]
    [InlineData("script-src 'unsafe-inline'")]
    public async Task A_page_whose_csp_leaves_no_safe_way_in_goes_out_without_the_badge(string policy)
    {
        await using var gateway = await PagesGateway.StartAsync();
        gateway.Serve("/tree", "text/html", Encoding.UTF8.GetBytes(Page), ("Content-Security-Policy", policy));
        using var browser = gateway.Browser();

        using var response = await browser.GetAsync("/tree");

        Assert.Equal(Page, await response.Content.ReadAsStringAsync());
        Assert.Equal(policy, string.Join(", ", response.Headers.GetValues("Content-Security-Policy")));
    }

    [Fact]
    public async Task The_badge_and_the_token_scrubber_compose_one_tag_and_no_token()
    {
        await using var gateway = await PagesGateway.StartAsync();
        var withToken = Page.Replace("<body>", $"<body data-jupyter-api-token=\"{PagesGateway.JupyterToken}\">", StringComparison.Ordinal);
        gateway.Serve("/notebooks/a.ipynb", "text/html", Encoding.UTF8.GetBytes(withToken));
        using var browser = gateway.Browser();

        var html = await browser.GetStringAsync("/notebooks/a.ipynb");

        Assert.DoesNotContain(PagesGateway.JupyterToken, html, StringComparison.Ordinal);
        Assert.Single(Regex.Matches(html, Regex.Escape(Tag)));
    }

    [Fact]
    public async Task A_page_that_already_loads_the_badge_does_not_get_it_twice()
    {
        await using var gateway = await PagesGateway.StartAsync();
        var loaded = Page.Replace("</head>", Tag + "</head>", StringComparison.Ordinal);
        gateway.Serve("/tree", "text/html", Encoding.UTF8.GetBytes(loaded));
        using var browser = gateway.Browser();

        Assert.Equal(loaded, await browser.GetStringAsync("/tree"));
    }

    [Theory]
    [InlineData("iframe")]
    [InlineData("empty")]
    public async Task Frames_and_fetches_of_html_get_no_badge(string destination)
    {
        await using var gateway = await PagesGateway.StartAsync();
        gateway.Serve("/files/report.html", "text/html", Encoding.UTF8.GetBytes(Page));
        using var browser = gateway.Browser();
        browser.DefaultRequestHeaders.Add("Sec-Fetch-Dest", destination);

        Assert.Equal(Page, await browser.GetStringAsync("/files/report.html"));
    }

    [Fact]
    public async Task Error_pages_get_no_badge()
    {
        await using var gateway = await PagesGateway.StartAsync();
        gateway.Routes["/missing"] = async context =>
        {
            context.Response.StatusCode = 404;
            context.Response.ContentType = "text/html";
            await context.Response.WriteAsync(Page);
        };
        using var browser = gateway.Browser();

        using var response = await browser.GetAsync("/missing");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(Page, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_download_of_an_html_file_is_not_rewritten()
    {
        await using var gateway = await PagesGateway.StartAsync();
        gateway.Serve("/files/report.html", "text/html", Encoding.UTF8.GetBytes(Page), ("Content-Disposition", "attachment; filename=report.html"));
        using var browser = gateway.Browser();

        Assert.Equal(Page, await browser.GetStringAsync("/files/report.html"));
    }

    [Fact]
    public async Task A_page_larger_than_the_limit_streams_through_untouched()
    {
        await using var gateway = await PagesGateway.StartAsync(("Gateway:Pages:MaxPageBytes", "65536"));
        var big = "<html><head></head><body>" + new string('x', 100_000) + "</body></html>";
        gateway.Routes["/big"] = async context =>
        {
            // No Content-Length: the gateway finds out it is too big only while reading.
            context.Response.ContentType = "text/html";
            await context.Response.WriteAsync(big);
        };
        using var browser = gateway.Browser();

        Assert.Equal(big, await browser.GetStringAsync("/big"));
    }

    [Fact]
    public async Task Pages_in_a_non_utf8_charset_keep_their_text()
    {
        await using var gateway = await PagesGateway.StartAsync();
        var latin1 = Encoding.Latin1.GetBytes("<html><head><title>Caf\u00e9</title></head><body></body></html>");
        gateway.Serve("/latin", "text/html; charset=iso-8859-1", latin1);
        using var browser = gateway.Browser();

        using var response = await browser.GetAsync("/latin");

        // Read as the browser would, by the charset the response declares.
        Assert.Equal("<html><head><title>Caf\u00e9</title>" + Tag + "</head><body></body></html>", await response.Content.ReadAsStringAsync());
    }

    private static byte[] Gzip(string text)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return output.ToArray();
    }

    [GeneratedRegex("nonce=\"([^\"]+)\"")]
    private static partial Regex NonceAttribute();
}
