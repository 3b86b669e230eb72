using Attach.Agent.Gpu;

namespace Attach.Agent.Tests.Gpu;

public sealed class NvidiaSmiXmlParserTests
{
    public static TheoryData<string> Recordings => NvidiaSmiFixtures.Xml;

    [Theory]
    [MemberData(nameof(Recordings))]
    public void Parse_RecordedOutput_EveryGpuConsistent(string fixture)
    {
        var log = NvidiaSmiXmlParser.Parse(NvidiaSmiFixtures.Read(fixture));

        Assert.NotEmpty(log.Gpus);
        if (log.DriverVersion is not null)
        {
            Assert.Matches(@"^\d+\.\d+(\.\d+)?$", log.DriverVersion);
        }

        Assert.Equal(log.Gpus.Count, log.Gpus.Select(gpu => gpu.Uuid).Distinct(StringComparer.Ordinal).Count());
        Assert.All(log.Gpus, gpu =>
        {
            Assert.StartsWith("GPU-", gpu.Uuid, StringComparison.Ordinal);
            Assert.InRange(gpu.MemoryUsedMiB ?? 0, 0, gpu.MemoryTotalMiB ?? long.MaxValue);
            Assert.InRange(gpu.UtilizationPercent ?? 0, 0, 100);
            Assert.All(gpu.Processes, process =>
            {
                Assert.True(process.Pid > 0);
                Assert.InRange(process.UsedMemoryMiB ?? 0, 0, gpu.MemoryTotalMiB ?? long.MaxValue);
            });
            Assert.Equal(gpu.Processes.Count, gpu.Processes.Select(process => process.Pid).Distinct().Count());
            if (gpu.MigMode != "Enabled")
            {
                Assert.Empty(gpu.MigInstances);
            }

            Assert.All(gpu.MigInstances, instance => Assert.InRange(instance.MemoryTotalMiB ?? 0, 1, gpu.MemoryTotalMiB ?? long.MaxValue));
        });
    }

    [Fact]
    public void Parse_Driver470WithDesktopProcesses_ProcessesWithTheirMemory()
    {
        var log = NvidiaSmiXmlParser.Parse(NvidiaSmiFixtures.Read("telegraf-gt-1030-470.74.xml"));

        Assert.Equal("470.74", log.DriverVersion);
        var gpu = Assert.Single(log.Gpus);
        Assert.Equal("GPU-857c6374-f681-cf3a-f99f-9063a87b8ac0", gpu.Uuid);
        Assert.Equal("NVIDIA GeForce GT 1030", gpu.ProductName);
        Assert.Equal(1998, gpu.MemoryTotalMiB);
        Assert.Equal(875, gpu.MemoryUsedMiB);
        Assert.Equal(0, gpu.UtilizationPercent);
        Assert.Null(gpu.MigMode);
        Assert.Empty(gpu.MigInstances);
        Assert.Equal(10, gpu.Processes.Count);
        var xorg = gpu.Processes[0];
        Assert.Equal((607, "/usr/lib/Xorg", "G", 547L), (xorg.Pid, xorg.Name, xorg.Type, xorg.UsedMemoryMiB));
        Assert.Null(xorg.GpuInstanceId);
        Assert.Equal(0, gpu.Processes.Single(process => process.Pid == 746).UsedMemoryMiB);
        Assert.StartsWith("/usr/lib/chromium/chromium --type=gpu-process", gpu.Processes.Single(process => process.Pid == 1264).Name, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Driver515WithCudaProcess_ComputeProcessAndMemory()
    {
        var log = NvidiaSmiXmlParser.Parse(NvidiaSmiFixtures.Read("telegraf-tesla-t4-515.105.01.xml"));

        Assert.Equal("515.105.01", log.DriverVersion);
        var gpu = Assert.Single(log.Gpus);
        Assert.Equal("Tesla T4", gpu.ProductName);
        Assert.Equal((15360L, 1032L), (gpu.MemoryTotalMiB, gpu.MemoryUsedMiB));
        var python = Assert.Single(gpu.Processes, process => process.Type == "C");
        Assert.Equal((5762, "python", 1005L), (python.Pid, python.Name, python.UsedMemoryMiB));
    }

    [Fact]
    public void Parse_MigEnabled_InstancesWithMemoryAndNoUtilization()
    {
        var log = NvidiaSmiXmlParser.Parse(NvidiaSmiFixtures.Read("telegraf-a100-sxm4-80gb-mig-535.54.03.xml"));

        Assert.Equal("535.54.03", log.DriverVersion);
        var gpu = Assert.Single(log.Gpus);
        Assert.Equal("NVIDIA A100-SXM4-80GB", gpu.ProductName);
        Assert.Equal("Enabled", gpu.MigMode);
        Assert.Null(gpu.UtilizationPercent); // NVIDIA reports no whole-GPU utilisation in MIG mode.
        Assert.Equal([3, 4, 5, 6], gpu.MigInstances.Select(instance => instance.GpuInstanceId));
        Assert.Equal([0, 1, 2, 3], gpu.MigInstances.Select(instance => instance.Index));
        Assert.All(gpu.MigInstances, instance =>
        {
            Assert.Equal(0, instance.ComputeInstanceId);
            Assert.Equal(14, instance.MultiprocessorCount);
            Assert.Equal(19968, instance.MemoryTotalMiB);
            Assert.Equal(12, instance.MemoryUsedMiB);
        });
        Assert.Empty(gpu.Processes); // <processes />
    }

    [Fact]
    public void Parse_WindowsVgpuProcessesWithoutMemory_MemoryUnknownNotZero()
    {
        var log = NvidiaSmiXmlParser.Parse(NvidiaSmiFixtures.Read("telegraf-grid-p4-1q-vgpu-513.46.xml"));

        var gpu = Assert.Single(log.Gpus);
        Assert.Equal(13, gpu.Processes.Count);
        Assert.All(gpu.Processes, process =>
        {
            Assert.Null(process.UsedMemoryMiB);
            Assert.Equal("C+G", process.Type);
        });
        Assert.Null(gpu.Processes[0].Name); // <process_name></process_name>
        Assert.Equal(@"C:\Windows\explorer.exe", gpu.Processes[^1].Name);
    }

    [Theory]
    [InlineData("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", "well-formed XML")]
    [InlineData("<?xml version=\"1.0\" ?><nvidia_smi_unit_log></nvidia_smi_unit_log>", "<nvidia_smi_log>")]
    [InlineData("<nvidia_smi_log><gpu id=\"00000000:01:00.0\"><product_name>Tesla T4</product_name></gpu></nvidia_smi_log>", "has no <uuid>")]
    [InlineData("<nvidia_smi_log><gpu><uuid>GPU-1</uuid><fb_memory_usage><total>lots</total></fb_memory_usage></gpu></nvidia_smi_log>", "'lots' for fb_memory_usage/total")]
    public void Parse_NotWhatNvidiaSmiPrints_FormatExceptionSayingWhat(string output, string expected)
    {
        var exception = Assert.Throws<FormatException>(() => NvidiaSmiXmlParser.Parse(output));

        Assert.Contains(expected, exception.Message, StringComparison.Ordinal);
    }
}
