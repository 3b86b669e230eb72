using System.Text.Json;

namespace Attach.BrowserTests.Badge;

/// <summary>Notebook files for the browser tests, written where the deployment's Jupyter serves them.</summary>
internal static class Notebooks
{
    /// <summary>Cell 0 needs no GPU; cell 1 does (<c>device = "cuda"</c>, as the broker's detection rules see it).</summary>
    public static readonly string[] CpuThenGpu =
    [
        "total = sum(range(10))\nprint('cpu result', total)",
        "device = \"cuda\"\nprint('gpu cell ran on', device)",
    ];

    public static string Write(string directory, string name, IReadOnlyList<string> cells)
    {
        var notebook = new
        {
            nbformat = 4,
            nbformat_minor = 5,
            metadata = new Dictionary<string, object>
            {
                ["kernelspec"] = new { name = "python3", display_name = "Python 3", language = "python" },
            },
            cells = cells.Select((source, i) => new Dictionary<string, object?>
            {
                ["cell_type"] = "code",
                ["id"] = $"cell-{i}",
                ["metadata"] = new { },
                ["execution_count"] = null,
                ["outputs"] = Array.Empty<object>(),
                ["source"] = source,
            }),
        };
        File.WriteAllText(Path.Combine(directory, name), JsonSerializer.Serialize(notebook));
        return name;
    }
}
