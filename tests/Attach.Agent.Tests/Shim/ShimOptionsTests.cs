using System.ComponentModel.DataAnnotations;
using Attach.Agent.Shim;

namespace Attach.Agent.Tests.Shim;

public sealed class ShimOptionsTests
{
    [Theory]
    [InlineData(true, "/run/user/1000", "/run/attach/agent.sock")]
    [InlineData(false, "/run/user/1000", "/run/user/1000/attach/agent.sock")]
    [InlineData(false, null, ".attach/agent.sock")]
    [InlineData(false, "relative/dir", ".attach/agent.sock")]
    public void DefaultPath_DependsOnPrivilegeAndRuntimeDirectory(bool root, string? runtimeDirectory, string expected) =>
        Assert.Equal(expected, ShimSocketPath.Default(root, runtimeDirectory));

    [Fact]
    public void ResolvedSocketPath_IsAbsolute() =>
        Assert.True(Path.IsPathRooted(new ShimOptions { SocketPath = "rel/agent.sock" }.ResolvedSocketPath));

    [Fact]
    public void Validate_PathLongerThanSunPath_SaysHowLong()
    {
        var options = new ShimOptions { SocketPath = "/tmp/" + new string('a', 110) + ".sock" };

        var results = options.Validate(new ValidationContext(options)).ToList();

        var result = Assert.Single(results);
        Assert.Contains("at most 107", result.ErrorMessage);
    }

    [Fact]
    public void Validate_Disabled_IgnoresThePath() =>
        Assert.Empty(new ShimOptions { Enabled = false, SocketPath = "/tmp/" + new string('a', 200) }.Validate(new ValidationContext(new object())));
}
