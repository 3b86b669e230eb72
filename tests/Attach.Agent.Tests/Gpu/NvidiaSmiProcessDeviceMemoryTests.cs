using Attach.Agent.Gpu;

namespace Attach.Agent.Tests.Gpu;

public sealed class NvidiaSmiProcessDeviceMemoryTests
{
    // The shape nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits prints: one row per process and GPU.
    private const string Output = "4242, 20480\n977, 1005\n4242, 512\n";

    [Fact]
    public void Parse_ProcessOnTwoGpus_SumsItsRowsInBytes() =>
        Assert.Equal((20480L + 512) * 1024 * 1024, NvidiaSmiProcessDeviceMemory.Parse(Output, 4242));

    [Fact]
    public void Parse_ProcessWithoutCudaMemory_IsUnknown() =>
        Assert.Null(NvidiaSmiProcessDeviceMemory.Parse(Output, 1));

    [Fact]
    public void Parse_NotSupportedValues_AreSkipped() =>
        Assert.Null(NvidiaSmiProcessDeviceMemory.Parse("4242, [N/A]\n", 4242));
}
