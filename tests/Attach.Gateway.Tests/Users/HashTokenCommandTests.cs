using Attach.Gateway.Users;

namespace Attach.Gateway.Tests.Users;

public sealed class HashTokenCommandTests
{
    [Fact]
    public void ATokenOnStandardInput_IsHashedForTheUsersFile()
    {
        var token = "ada-chose-this-token-" + new string('z', 20);
        using var output = new StringWriter();

        Assert.True(HashTokenCommand.TryRun(["hash-token"], new StringReader(token + "\n"), output, TextWriter.Null, out var exit));

        Assert.Equal(0, exit);
        var hash = output.ToString().Trim()["tokenHash: ".Length..];
        Assert.True(TokenHash.Verify(token, hash));
        Assert.DoesNotContain(token, output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutInput_ANewRandomTokenIsMadeAndPrintedWithItsHash()
    {
        using var output = new StringWriter();

        Assert.True(HashTokenCommand.TryRun(["hash-token"], input: null, output, TextWriter.Null, out var exit));

        Assert.Equal(0, exit);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var token = lines.Single(l => l.StartsWith("token: ", StringComparison.Ordinal))["token: ".Length..];
        var hash = lines.Single(l => l.StartsWith("tokenHash: ", StringComparison.Ordinal))["tokenHash: ".Length..];
        Assert.True(token.Length >= 32);
        Assert.True(TokenHash.Verify(token, hash));
    }

    [Fact]
    public void AShortToken_IsRefused()
    {
        using var error = new StringWriter();

        Assert.True(HashTokenCommand.TryRun(["hash-token"], new StringReader("short\n"), TextWriter.Null, error, out var exit));

        Assert.Equal(2, exit);
        Assert.Contains("at least 32", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void OtherArguments_StartTheGateway()
    {
        Assert.False(HashTokenCommand.TryRun(["--urls", "http://127.0.0.1:1"], null, TextWriter.Null, TextWriter.Null, out _));
    }
}
