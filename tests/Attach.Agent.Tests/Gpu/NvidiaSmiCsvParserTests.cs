using Attach.Agent.Gpu;

namespace Attach.Agent.Tests.Gpu;

public sealed class NvidiaSmiCsvParserTests
{
    public static TheoryData<string> Recordings => NvidiaSmiFixtures.Csv;

    [Theory]
    [MemberData(nameof(Recordings))]
    public void Parse_RecordedOutput_EveryGpuConsistent(string fixture)
    {
        var rows = NvidiaSmiCsvParser.Parse(NvidiaSmiFixtures.Read(fixture));

        Assert.NotEmpty(rows);
        Assert.Equal(rows.Count, rows.Select(row => row.Index).Distinct().Count());
        Assert.Equal(rows.Select(row => row.Index).Order(), rows.Select(row => row.Index));
        Assert.All(rows, row =>
        {
            Assert.StartsWith("GPU-", row.Uuid, StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(row.Name));
            Assert.True(row.MemoryTotalMiB > 0);
            Assert.InRange(row.MemoryUsedMiB ?? 0, 0, row.MemoryTotalMiB);
            Assert.InRange(row.UtilizationPercent ?? 0, 0, 100);
            Assert.Contains(row.MigMode, new[] { null, "Enabled", "Disabled" });
        });
    }

    [Fact]
    public void Parse_EveryFieldWithHeaderAndUnits_ReadsColumnsByName()
    {
        var row = Assert.Single(NvidiaSmiCsvParser.Parse(NvidiaSmiFixtures.Read("nvidia-gpu-exporter-h200-mig-580.173.02.csv")));

        Assert.Equal(0, row.Index);
        Assert.Equal("GPU-00000000-0000-0000-0000-000000000000", row.Uuid);
        Assert.Equal("NVIDIA H200", row.Name);
        Assert.Equal(143771, row.MemoryTotalMiB);
        Assert.Equal(44, row.MemoryUsedMiB);
        Assert.Null(row.UtilizationPercent); // "[N/A]": no whole-GPU utilisation in MIG mode.
        Assert.Equal("580.173.02", row.DriverVersion);
        Assert.Equal("Enabled", row.MigMode);
    }

    // The fast path's shape (no header, no units, columns in NvidiaSmiCsvParser.Fields order), with values taken from
    // the H200 and T4 recordings.
    [Fact]
    public void Parse_FastPathWithoutHeader_ColumnsInQueryOrderSortedByIndex()
    {
        const string output =
            "1, GPU-d37e67a5-91dd-3774-a5cb-99096249601a, Tesla T4, 15360, 1032, 0, 515.105.01, [N/A]\n" +
            "0, GPU-00000000-0000-0000-0000-000000000000, NVIDIA H200, 143771, 44, [N/A], 580.173.02, Enabled\n";

        var rows = NvidiaSmiCsvParser.Parse(output);

        Assert.Equal([0, 1], rows.Select(row => row.Index));
        Assert.Equal(new NvidiaSmiGpuRow(1, "GPU-d37e67a5-91dd-3774-a5cb-99096249601a", "Tesla T4", 15360, 1032, 0, "515.105.01", null), rows[1]);
        Assert.Null(rows[0].UtilizationPercent);
    }

    [Theory]
    [InlineData("[Not Supported]")]
    [InlineData("[Insufficient Permissions]")]
    [InlineData("N/A")]
    public void Parse_ValueTheDriverCannotReport_Null(string value)
    {
        var row = Assert.Single(NvidiaSmiCsvParser.Parse($"0, GPU-1, Tesla T4, 15360, {value}, {value}, {value}, {value}\n"));

        Assert.Null(row.MemoryUsedMiB);
        Assert.Null(row.UtilizationPercent);
        Assert.Null(row.DriverVersion);
        Assert.Null(row.MigMode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\n")]
    public void Parse_NoGpus_Empty(string output)
    {
        Assert.Empty(NvidiaSmiCsvParser.Parse(output));
    }

    [Theory]
    [InlineData("0, GPU-1, Tesla T4, 15360, 1032\n", "line 1 has 5 values for 8 columns")]
    [InlineData("0, GPU-1, Tesla T4, lots, 1032, 0, 515.105.01, [N/A]\n", "'lots' for memory.total")]
    [InlineData("0, GPU-1, Tesla T4, [N/A], 1032, 0, 515.105.01, [N/A]\n", "reports no memory.total")]
    [InlineData("uuid, name\nGPU-1, Tesla T4\n", "lacks a required column")]
    public void Parse_NotWhatNvidiaSmiPrints_FormatExceptionSayingWhere(string output, string expected)
    {
        var exception = Assert.Throws<FormatException>(() => NvidiaSmiCsvParser.Parse(output));

        Assert.Contains(expected, exception.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Arguments_FastPath_NoHeaderNoUnitsInFieldOrder()
    {
        Assert.Equal(2, NvidiaSmiCsvParser.Arguments.Length);
        Assert.Equal("--query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu,driver_version,mig.mode.current", NvidiaSmiCsvParser.Arguments[0]);
        Assert.Equal("--format=csv,noheader,nounits", NvidiaSmiCsvParser.Arguments[1]);
    }
}
