using Attach.Gateway.Users;

namespace Attach.Gateway.Tests.Users;

public sealed class TokenHashTests
{
    [Fact]
    public void AHashVerifiesItsTokenAndNoOther()
    {
        var hash = TokenHash.Create("the-right-token-" + new string('a', 32), TokenHash.MinIterations);

        Assert.True(TokenHash.Verify("the-right-token-" + new string('a', 32), hash));
        Assert.False(TokenHash.Verify("the-right-token-" + new string('b', 32), hash));
        Assert.False(TokenHash.Verify("", hash));
    }

    [Fact]
    public void TheHashCarriesItsAlgorithmIterationsAndSalt_SoTheSameTokenHashesDifferentlyEachTime()
    {
        var first = TokenHash.Create("t" + new string('x', 40), 12_345);
        var second = TokenHash.Create("t" + new string('x', 40), 12_345);

        Assert.StartsWith("pbkdf2-sha256$12345$", first, StringComparison.Ordinal);
        Assert.NotEqual(first, second);
        Assert.True(TokenHash.Verify("t" + new string('x', 40), second));
    }

    [Theory]
    [InlineData("sha1$10000$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==")]
    [InlineData("pbkdf2-sha256$10$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==")]
    [InlineData("pbkdf2-sha256$10000$not base64$aGFzaGhhc2hoYXNoaGFzaA==")]
    [InlineData("pbkdf2-sha256$10000$c2FsdHNhbHQ=")]
    [InlineData("plain-text-token-in-the-file")]
    public void AMalformedHash_IsReportedAndNeverVerifies(string hash)
    {
        Assert.False(TokenHash.IsWellFormed(hash, out var error));
        Assert.NotEmpty(error);
        Assert.False(TokenHash.Verify("plain-text-token-in-the-file", hash));
    }
}
