using Attach.Gateway.Pages;

namespace Attach.Gateway.Tests.Pages;

/// <summary>How the badge's same-origin script gets past a page's Content-Security-Policy without loosening it.</summary>
public sealed class BadgeScriptPolicyTests
{
    [Theory]
    [InlineData("frame-ancestors 'self'; report-uri /api/security/csp-report")]
    [InlineData("script-src 'self' 'unsafe-eval'")]
    [InlineData("default-src 'self'")]
    [InlineData("script-src-elem 'self'; script-src 'none'")]
    public void A_policy_that_admits_same_origin_scripts_is_left_alone(string policy)
    {
        var decision = BadgeScriptPolicy.Decide([policy]);

        Assert.True(decision.Inject);
        Assert.Null(decision.Nonce);
        Assert.Null(decision.Policies);
    }

    [Fact]
    public void Every_policy_must_admit_the_script_so_each_blocking_one_gets_the_nonce()
    {
        var decision = BadgeScriptPolicy.Decide(["default-src 'self'", "script-src https://a.example, script-src-elem https://b.example; img-src 'self'"]);

        Assert.True(decision.Inject);
        var nonce = $"'nonce-{decision.Nonce}'";
        Assert.Equal(
            $"default-src 'self', script-src https://a.example {nonce}, script-src-elem https://b.example {nonce}; img-src 'self'",
            Assert.Single(decision.Policies!));
    }

    [Fact]
    public void Strict_dynamic_ignores_self_so_a_page_nonce_is_reused()
    {
        var decision = BadgeScriptPolicy.Decide(["script-src 'self' 'nonce-abc' 'strict-dynamic'"]);

        Assert.Equal("abc", decision.Nonce);
        Assert.Null(decision.Policies);
    }

    [Fact]
    public void A_policy_that_forbids_every_script_keeps_the_badge_out()
    {
        var decision = BadgeScriptPolicy.Decide(["default-src 'none'"]);

        Assert.False(decision.Inject);
        Assert.Contains("'none'", decision.SkipReason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fresh_nonce_is_random_for_every_page()
    {
        var first = BadgeScriptPolicy.Decide(["script-src https://cdn.example"]).Nonce;
        var second = BadgeScriptPolicy.Decide(["script-src https://cdn.example"]).Nonce;

        Assert.NotEqual(first, second);
        Assert.True(Convert.FromBase64String(first!).Length >= 16);
    }

    [Fact]
    public void A_meta_policy_that_blocks_the_script_gets_the_nonce_and_the_headers_stay_as_they_are()
    {
        var decision = BadgeScriptPolicy.Decide(["img-src 'self'"], ["script-src https://cdn.example", "style-src 'self'"]);

        Assert.True(decision.Inject);
        Assert.Null(decision.Policies);
        Assert.Equal([$"script-src https://cdn.example 'nonce-{decision.Nonce}'", "style-src 'self'"], decision.MetaPolicies);
    }

    [Fact]
    public void A_meta_policy_that_forbids_every_script_keeps_the_badge_out_whatever_the_headers_allow()
    {
        var decision = BadgeScriptPolicy.Decide(["script-src 'self'"], ["script-src 'none'"]);

        Assert.False(decision.Inject);
    }

    [Fact]
    public void The_pages_own_nonce_in_a_meta_policy_is_reused()
    {
        var decision = BadgeScriptPolicy.Decide([], ["script-src 'nonce-abc'"]);

        Assert.Equal("abc", decision.Nonce);
        Assert.Null(decision.MetaPolicies);
    }
}
