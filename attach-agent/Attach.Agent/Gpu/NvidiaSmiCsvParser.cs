using System.Collections.Immutable;

namespace Attach.Agent.Gpu;

/// <summary>
/// Parses <c>nvidia-smi --query-gpu=… --format=csv</c>. The agent asks for <see cref="Arguments"/> (no header, no
/// units); output with a header row is read by column name and units are ignored, so a recording made with any
/// field list and <c>--format=csv</c> parses too.
/// </summary>
internal static class NvidiaSmiCsvParser
{
    /// <summary>The fields the agent queries, in the order it reads them when there is no header.</summary>
    public static readonly ImmutableArray<string> Fields =
        ["index", "uuid", "name", "memory.total", "memory.used", "utilization.gpu", "driver_version", "mig.mode.current"];

    /// <summary>The fast-path query: one line per GPU.</summary>
    public static readonly ImmutableArray<string> Arguments =
        ["--query-gpu=" + string.Join(',', Fields), "--format=csv,noheader,nounits"];

    /// <summary>The GPUs, ordered by index.</summary>
    /// <exception cref="FormatException">A line does not match the columns, or a required value is missing or not a number.</exception>
    public static IReadOnlyList<NvidiaSmiGpuRow> Parse(string output)
    {
        ArgumentNullException.ThrowIfNull(output);
        var lines = output.Split('\n')
            .Select(line => line.TrimEnd('\r'))
            .Where(line => !string.IsNullOrWhiteSpace(line))
            .ToArray();
        if (lines.Length == 0)
        {
            return [];
        }

        IReadOnlyList<string> columns = Fields;
        var first = Cells(lines[0]);
        var header = first.Select(ColumnName).ToArray();
        var hasHeader = header.Contains("uuid", StringComparer.Ordinal);
        if (hasHeader)
        {
            columns = header;
        }

        var index = Column(columns, "index");
        var uuid = Column(columns, "uuid");
        var name = Column(columns, "name");
        var memoryTotal = Column(columns, "memory.total");
        var memoryUsed = Column(columns, "memory.used");
        var utilization = Column(columns, "utilization.gpu");
        var driverVersion = Column(columns, "driver_version");
        var migMode = Column(columns, "mig.mode.current");
        if (index < 0 || uuid < 0 || name < 0 || memoryTotal < 0)
        {
            throw new FormatException(
                $"nvidia-smi --query-gpu output lacks a required column (index, uuid, name, memory.total); its columns are: {string.Join(", ", columns)}.");
        }

        var rows = new List<NvidiaSmiGpuRow>(lines.Length);
        for (var lineNumber = hasHeader ? 1 : 0; lineNumber < lines.Length; lineNumber++)
        {
            var cells = Cells(lines[lineNumber]);
            if (cells.Length != columns.Count)
            {
                throw new FormatException(
                    $"nvidia-smi --query-gpu line {lineNumber + 1} has {cells.Length} values for {columns.Count} columns: '{lines[lineNumber]}'.");
            }

            string? Cell(int column) => column < 0 ? null : cells[column];
            rows.Add(new NvidiaSmiGpuRow(
                Required(NvidiaSmiField.SmallNumber(cells[index], "index"), "index", lineNumber),
                Required(NvidiaSmiField.Text(cells[uuid]), "uuid", lineNumber),
                Required(NvidiaSmiField.Text(cells[name]), "name", lineNumber),
                Required(NvidiaSmiField.Number(cells[memoryTotal], "memory.total"), "memory.total", lineNumber),
                NvidiaSmiField.Number(Cell(memoryUsed), "memory.used"),
                NvidiaSmiField.SmallNumber(Cell(utilization), "utilization.gpu"),
                NvidiaSmiField.Text(Cell(driverVersion)),
                NvidiaSmiField.Text(Cell(migMode))));
        }

        return [.. rows.OrderBy(row => row.Index)];
    }

    // nvidia-smi separates values with ", " and never quotes; product names carry no commas.
    private static string[] Cells(string line) => line.Split(',', StringSplitOptions.TrimEntries);

    // A header cell is the field name, then " [unit]" when units are printed: "memory.total [MiB]".
    private static string ColumnName(string cell)
    {
        var bracket = cell.IndexOf(" [", StringComparison.Ordinal);
        return bracket < 0 ? cell : cell[..bracket];
    }

    private static int Column(IReadOnlyList<string> columns, string field)
    {
        for (var i = 0; i < columns.Count; i++)
        {
            if (string.Equals(columns[i], field, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    private static T Required<T>(T? value, string field, int lineNumber)
        where T : struct =>
        value ?? throw new FormatException($"nvidia-smi --query-gpu line {lineNumber + 1} reports no {field}.");

    private static string Required(string? value, string field, int lineNumber) =>
        value ?? throw new FormatException($"nvidia-smi --query-gpu line {lineNumber + 1} reports no {field}.");
}
