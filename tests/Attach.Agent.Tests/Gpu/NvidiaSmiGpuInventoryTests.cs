using Attach.Agent.Gpu;
using Attach.Contracts.Pool;

namespace Attach.Agent.Tests.Gpu;

public sealed class NvidiaSmiGpuInventoryTests
{
    private const string H200 = "nvidia-gpu-exporter-h200-mig-580.173.02.csv";

    public static TheoryData<string> Recordings => NvidiaSmiFixtures.Csv;

    [Theory]
    [MemberData(nameof(Recordings))]
    public async Task ReadAsync_RecordedOutput_OneRealReadingPerGpu(string fixture)
    {
        var nvidiaSmi = new RecordedNvidiaSmi(NvidiaSmiFixtures.Read(fixture), NvidiaSmiFixtures.XmlBesides(fixture) ?? RecordedNvidiaSmi.EmptyLog);
        var inventory = await NvidiaSmiGpuInventory.CreateAsync(nvidiaSmi, "test", CancellationToken.None);

        var readings = await inventory.ReadAsync([], CancellationToken.None);

        Assert.Equal(inventory.Gpus.Select(gpu => (gpu.Index, gpu.Uuid)), readings.Select(reading => (reading.Index, reading.Uuid)));
        Assert.All(inventory.Gpus, gpu => Assert.False(gpu.Simulated));
        Assert.All(readings, reading =>
        {
            Assert.False(reading.Simulated);
            if (reading.Mig is { Enabled: false })
            {
                Assert.Empty(reading.Mig.Instances);
            }
        });
    }

    [Fact]
    public async Task CreateAsync_H200_GpusByUuidWithModelAndMemory()
    {
        var nvidiaSmi = new RecordedNvidiaSmi(NvidiaSmiFixtures.Read(H200), RecordedNvidiaSmi.EmptyLog);

        var inventory = await NvidiaSmiGpuInventory.CreateAsync(nvidiaSmi, "/dev/nvidiactl exists", CancellationToken.None);

        Assert.Equal(new GpuInfo(0, "GPU-00000000-0000-0000-0000-000000000000", "NVIDIA H200", 143771, Simulated: false), Assert.Single(inventory.Gpus));
        Assert.Equal("NVIDIA H200", inventory.Gpus[0].DisplayName);
        Assert.Equal("nvidia-smi", inventory.Backend.Name);
        Assert.False(inventory.Backend.Simulated);
        Assert.Equal("/dev/nvidiactl exists; nvidia-smi lists 1 GPU(s), driver 580.173.02", inventory.Backend.Reason);
        Assert.Equal("580.173.02", inventory.DriverVersion);
    }

    [Fact]
    public async Task CreateAsync_NoGpuListed_Fails()
    {
        var nvidiaSmi = new RecordedNvidiaSmi("", RecordedNvidiaSmi.EmptyLog);

        var exception = await Assert.ThrowsAsync<NvidiaSmiException>(() => NvidiaSmiGpuInventory.CreateAsync(nvidiaSmi, "test", CancellationToken.None));

        Assert.Contains("lists no GPU", exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_MigEnabledWithoutDetail_MemoryFromCsvMigOnWithoutInstances()
    {
        var nvidiaSmi = new RecordedNvidiaSmi(NvidiaSmiFixtures.Read(H200), RecordedNvidiaSmi.EmptyLog);
        var inventory = await NvidiaSmiGpuInventory.CreateAsync(nvidiaSmi, "test", CancellationToken.None);

        var reading = Assert.Single(await inventory.ReadAsync([], CancellationToken.None));

        Assert.Equal(44, reading.MemoryUsedMiB);
        Assert.Null(reading.UtilizationPercent);
        Assert.Equal("580.173.02", reading.DriverVersion);
        Assert.True(reading.Mig!.Enabled);
        Assert.Empty(reading.Mig.Instances);
        Assert.Empty(reading.Processes);
        Assert.Equal(3, nvidiaSmi.Calls); // the listing at start, then one CSV and one XML query per reading
    }

    // The CSV rows carry the fast-path values of the recorded GPUs (UUID, name, memory, utilisation, MIG mode as the
    // XML recordings report them); the XML is the recording itself.
    [Theory]
    [InlineData("telegraf-tesla-t4-515.105.01.xml", "0, GPU-d37e67a5-91dd-3774-a5cb-99096249601a, Tesla T4, 15360, 1032, 0, 515.105.01, [N/A]")]
    [InlineData("telegraf-a100-sxm4-80gb-mig-535.54.03.xml", "0, GPU-513536b6-7d19-9063-b049-1e69664bb298, NVIDIA A100-SXM4-80GB, 81920, 50, [N/A], 535.54.03, Enabled")]
    public async Task ReadAsync_CsvAndXml_ProcessesAndMigJoinedByUuid(string xmlFixture, string csvLine)
    {
        var log = NvidiaSmiXmlParser.Parse(NvidiaSmiFixtures.Read(xmlFixture));
        var rows = NvidiaSmiCsvParser.Parse(csvLine);

        var reading = Assert.Single(NvidiaSmiGpuInventory.Join(rows, log));

        var detail = Assert.Single(log.Gpus);
        Assert.Equal(detail.Processes, reading.Processes);
        Assert.Equal(detail.MemoryUsedMiB, reading.MemoryUsedMiB);
        if (detail.MigMode == "Enabled")
        {
            Assert.True(reading.Mig!.Enabled);
            Assert.Equal(detail.MigInstances, reading.Mig.Instances);
        }
        else
        {
            Assert.Null(reading.Mig);
        }
    }

    [Fact]
    public void Join_CsvLacksValues_XmlFillsThem()
    {
        var log = NvidiaSmiXmlParser.Parse(NvidiaSmiFixtures.Read("telegraf-tesla-t4-515.105.01.xml"));
        var rows = NvidiaSmiCsvParser.Parse("0, GPU-D37E67A5-91DD-3774-A5CB-99096249601A, Tesla T4, 15360, [N/A], [N/A], [N/A], [N/A]");

        var reading = Assert.Single(NvidiaSmiGpuInventory.Join(rows, log));

        Assert.Equal(1032, reading.MemoryUsedMiB);
        Assert.Equal(0, reading.UtilizationPercent);
        Assert.Equal("515.105.01", reading.DriverVersion);
        Assert.Equal(2, reading.Processes.Count); // UUIDs compare without regard to case
    }

    [Fact]
    public async Task ReadAsync_NvidiaSmiFails_Throws()
    {
        var nvidiaSmi = new RecordedNvidiaSmi(NvidiaSmiFixtures.Read(H200), RecordedNvidiaSmi.EmptyLog);
        var inventory = await NvidiaSmiGpuInventory.CreateAsync(nvidiaSmi, "test", CancellationToken.None);
        nvidiaSmi.Failure = "nvidia-smi exited with code 15: GPU is lost";

        var exception = await Assert.ThrowsAsync<NvidiaSmiException>(() => inventory.ReadAsync([], CancellationToken.None));

        Assert.Contains("GPU is lost", exception.Message, StringComparison.Ordinal);
    }
}
