using System.Collections.Immutable;
using System.Xml;
using System.Xml.Linq;
using Attach.Contracts.Pool;

namespace Attach.Agent.Gpu;

/// <summary>
/// Parses <c>nvidia-smi -q -x</c> for what the fast CSV query cannot give: processes with their memory, and MIG
/// devices. Only the elements read here need to exist, so the many fields that come and go between driver
/// branches (DTD v10 to v13 and later) do not matter.
/// </summary>
internal static class NvidiaSmiXmlParser
{
    /// <summary>The full query, as XML.</summary>
    public static readonly ImmutableArray<string> Arguments = ["-q", "-x"];

    /// <summary>The driver version and every GPU.</summary>
    /// <exception cref="FormatException">The output is not nvidia-smi's XML, or a GPU, MIG device or process lacks its id.</exception>
    public static NvidiaSmiLog Parse(string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        // The output names its DTD (nvsmi_device_vNN.dtd), which is not on disk: ignore it rather than resolve it.
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore, XmlResolver = null, IgnoreComments = true };
        XDocument document;
        try
        {
            using var text = new StringReader(output);
            using var reader = XmlReader.Create(text, settings);
            document = XDocument.Load(reader);
        }
        catch (XmlException exception)
        {
            throw new FormatException($"nvidia-smi -q -x did not print well-formed XML: {exception.Message}", exception);
        }

        var root = document.Root;
        if (root is null || root.Name.LocalName != "nvidia_smi_log")
        {
            throw new FormatException($"nvidia-smi -q -x printed <{root?.Name.LocalName}> where <nvidia_smi_log> was expected.");
        }

        var gpus = root.Elements("gpu").Select(ParseGpu).ToArray();
        return new NvidiaSmiLog(NvidiaSmiField.Text(root.Element("driver_version")?.Value), gpus);
    }

    private static NvidiaSmiLogGpu ParseGpu(XElement gpu, int position)
    {
        var uuid = NvidiaSmiField.Text(gpu.Element("uuid")?.Value)
            ?? throw new FormatException($"GPU {position} in nvidia-smi -q -x (bus id {gpu.Attribute("id")?.Value}) has no <uuid>.");
        var memory = gpu.Element("fb_memory_usage");
        return new NvidiaSmiLogGpu(
            uuid,
            NvidiaSmiField.Text(gpu.Element("product_name")?.Value),
            NvidiaSmiField.Number(memory?.Element("total")?.Value, "fb_memory_usage/total"),
            NvidiaSmiField.Number(memory?.Element("used")?.Value, "fb_memory_usage/used"),
            NvidiaSmiField.SmallNumber(gpu.Element("utilization")?.Element("gpu_util")?.Value, "utilization/gpu_util"),
            NvidiaSmiField.Text(gpu.Element("mig_mode")?.Element("current_mig")?.Value),
            [.. gpu.Elements("mig_devices").Elements("mig_device").Select(device => ParseMigDevice(device, uuid))],
            [.. gpu.Elements("processes").Elements("process_info").Select(process => ParseProcess(process, uuid))]);
    }

    private static MigInstanceReading ParseMigDevice(XElement device, string gpuUuid)
    {
        var memory = device.Element("fb_memory_usage");
        return new MigInstanceReading(
            RequiredId(device, "index", gpuUuid),
            RequiredId(device, "gpu_instance_id", gpuUuid),
            RequiredId(device, "compute_instance_id", gpuUuid),
            NvidiaSmiField.SmallNumber(device.Element("device_attributes")?.Element("shared")?.Element("multiprocessor_count")?.Value, "mig_device/multiprocessor_count"),
            NvidiaSmiField.Number(memory?.Element("total")?.Value, "mig_device/fb_memory_usage/total"),
            NvidiaSmiField.Number(memory?.Element("used")?.Value, "mig_device/fb_memory_usage/used"));
    }

    private static GpuProcessReading ParseProcess(XElement process, string gpuUuid) =>
        new(
            RequiredId(process, "pid", gpuUuid),
            NvidiaSmiField.Text(process.Element("process_name")?.Value),
            NvidiaSmiField.Text(process.Element("type")?.Value),
            NvidiaSmiField.Number(process.Element("used_memory")?.Value, "process_info/used_memory"),
            NvidiaSmiField.SmallNumber(process.Element("gpu_instance_id")?.Value, "process_info/gpu_instance_id"),
            NvidiaSmiField.SmallNumber(process.Element("compute_instance_id")?.Value, "process_info/compute_instance_id"));

    private static int RequiredId(XElement element, string name, string gpuUuid) =>
        NvidiaSmiField.SmallNumber(element.Element(name)?.Value, $"{element.Name.LocalName}/{name}")
            ?? throw new FormatException($"A <{element.Name.LocalName}> of GPU {gpuUuid} in nvidia-smi -q -x has no <{name}>.");
}
