using Attach.Agent.Gpu;

namespace Attach.Agent.Tests.Gpu;

/// <summary>
/// <c>nvidia-smi -L</c> gives each MIG device its UUID. The listing below is constructed in the format NVIDIA documents
/// (MIG user guide, "nvidia-smi -L") for the GPU of the recorded A100 <c>-q -x</c> log and its four MIG devices; the
/// MIG UUIDs are made up (no recording of this GPU's listing exists).
/// </summary>
public sealed class NvidiaSmiListParserTests
{
    private const string A100Xml = "telegraf-a100-sxm4-80gb-mig-535.54.03.xml";
    private const string A100Uuid = "GPU-513536b6-7d19-9063-b049-1e69664bb298";

    private const string A100Listing =
        "GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-513536b6-7d19-9063-b049-1e69664bb298)\n" +
        "  MIG 2g.20gb     Device  0: (UUID: MIG-a686709d-6dc2-542a-8851-0d2508448c10)\n" +
        "  MIG 2g.20gb     Device  1: (UUID: MIG-53864714-0a66-5df2-9007-9268e30d9a72)\n" +
        "  MIG 2g.20gb     Device  2: (UUID: MIG-d5a46a2e-1d77-575d-99e3-1f96c8555a2e)\n" +
        "  MIG 1g.10gb     Device  3: (UUID: MIG-9b10f6c1-af1d-535f-a8ac-791cc77b8486)\n" +
        "GPU 1: NVIDIA A100-SXM4-80GB (UUID: GPU-c92e2d5d-4a69-f1cd-4df0-305f8606705a)\n";

    [Fact]
    public void ParseMigUuids_Listing_UuidsByGpuThenMigDeviceIndex()
    {
        var uuids = NvidiaSmiListParser.ParseMigUuids(A100Listing);

        Assert.Equal(4, uuids[A100Uuid].Count);
        Assert.Equal("MIG-a686709d-6dc2-542a-8851-0d2508448c10", uuids[A100Uuid][0]);
        Assert.Equal("MIG-9b10f6c1-af1d-535f-a8ac-791cc77b8486", uuids[A100Uuid][3]);
        Assert.Empty(uuids["gpu-c92e2d5d-4a69-f1cd-4df0-305f8606705a"]);
    }

    [Fact]
    public void ParseMigUuids_NoMigDevices_NothingToName()
    {
        var uuids = NvidiaSmiListParser.ParseMigUuids("GPU 0: Tesla T4 (UUID: GPU-d37e67a5-91dd-3774-a5cb-99096249601a)\n");

        Assert.Empty(Assert.Single(uuids).Value);
    }

    [Fact]
    public async Task ReadAsync_GpuInMigMode_EachRecordedInstanceGetsItsMigUuidFromTheListing()
    {
        var csv = "0, GPU-513536b6-7d19-9063-b049-1e69664bb298, NVIDIA A100-SXM4-80GB, 81920, 50, [N/A], 535.54.03, Enabled";
        var nvidiaSmi = new ListingNvidiaSmi(csv, NvidiaSmiFixtures.Read(A100Xml), A100Listing);
        var inventory = await NvidiaSmiGpuInventory.CreateAsync(nvidiaSmi, "test", CancellationToken.None);

        var reading = Assert.Single(await inventory.ReadAsync([], CancellationToken.None));

        var instances = reading.Mig!.Instances;
        Assert.Equal([0, 1, 2, 3], instances.Select(instance => instance.Index));
        Assert.Equal(
            ["MIG-a686709d-6dc2-542a-8851-0d2508448c10", "MIG-53864714-0a66-5df2-9007-9268e30d9a72", "MIG-d5a46a2e-1d77-575d-99e3-1f96c8555a2e", "MIG-9b10f6c1-af1d-535f-a8ac-791cc77b8486"],
            instances.Select(instance => instance.Uuid));
        Assert.Equal(instances.Select(instance => instance.Uuid), Attach.Agent.Broker.BrokerHeartbeatService.MigLayouts([reading])!.Single().Instances.Select(instance => instance.Uuid));
    }

    /// <summary>Answers the CSV query, <c>-q -x</c> and <c>-L</c>, each with its own output.</summary>
    private sealed class ListingNvidiaSmi(string csv, string xml, string listing) : INvidiaSmi
    {
        public Task<string> RunAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
            Task.FromResult(arguments[0] switch
            {
                "-L" => listing,
                "-q" => xml,
                _ => csv,
            });
    }
}
