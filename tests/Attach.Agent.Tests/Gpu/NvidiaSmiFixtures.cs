namespace Attach.Agent.Tests.Gpu;

/// <summary>
/// Recorded output of real <c>nvidia-smi</c> runs under <c>Gpu/Fixtures</c>, one file per recording: <c>*.xml</c>
/// is <c>nvidia-smi -q -x</c>, <c>*.csv</c> is <c>nvidia-smi --query-gpu=… --format=csv…</c> (with or without a
/// header). Every file is a case of the parser theories, so adding a recording is adding a file. Leading lines
/// starting with <c>#</c> say where it came from and are not part of the output. To record a machine:
/// <code>
/// nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu,driver_version,mig.mode.current --format=csv,noheader,nounits > NAME.csv
/// nvidia-smi -q -x > NAME.xml
/// </code>
/// A <c>.csv</c> and <c>.xml</c> with the same name are also read together, as the backend reads them.
/// </summary>
internal static class NvidiaSmiFixtures
{
    public static string Folder { get; } = Path.Combine(AppContext.BaseDirectory, "Gpu", "Fixtures");

    public static TheoryData<string> Xml => Named("*.xml");

    public static TheoryData<string> Csv => Named("*.csv");

    /// <summary>The recording without its <c>#</c> header.</summary>
    public static string Read(string name) =>
        string.Join('\n', File.ReadAllLines(Path.Combine(Folder, name)).SkipWhile(line => line.StartsWith('#'))) + "\n";

    /// <summary>The <c>-q -x</c> recording made with <paramref name="csvName"/>, when there is one.</summary>
    public static string? XmlBesides(string csvName)
    {
        var xml = Path.ChangeExtension(csvName, ".xml");
        return File.Exists(Path.Combine(Folder, xml)) ? Read(xml) : null;
    }

    private static TheoryData<string> Named(string pattern)
    {
        var data = new TheoryData<string>();
        foreach (var path in Directory.EnumerateFiles(Folder, pattern).Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(path));
        }

        return data;
    }
}
