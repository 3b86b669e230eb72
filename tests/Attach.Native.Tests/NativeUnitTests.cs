using Attach.Native.Tests.Support;

namespace Attach.Native.Tests;

public sealed class NativeUnitTests
{
    [Fact]
    public async Task ParsingAndFraming_CUnitTestsPass()
    {
        await using var process = ShimProcess.Start(NativeBuild.UnitTests, [], new Dictionary<string, string?>());

        Assert.True(await process.ExitCodeAsync() == 0, process.Transcript());
        Assert.Contains(process.Output, line => line.EndsWith(" checks, 0 failed", StringComparison.Ordinal));
    }
}
