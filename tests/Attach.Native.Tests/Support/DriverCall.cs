namespace Attach.Native.Tests.Support;

/// <summary>One call the fake driver recorded (tests/fake_libcuda.c, tests/fake_libvgpu.c): its name and key=value fields.</summary>
internal sealed record DriverCall(string Name, IReadOnlyDictionary<string, string> Fields)
{
    public string this[string key] => Fields[key];

    public int Pid => int.Parse(Fields["pid"], System.Globalization.CultureInfo.InvariantCulture);

    public static IReadOnlyList<DriverCall> ReadAll(string path) =>
        File.Exists(path)
            ? [.. File.ReadAllLines(path).Where(line => line.Length > 0).Select(Parse)]
            : [];

    private static DriverCall Parse(string line)
    {
        var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var fields = words.Skip(1)
            .Select(word => word.Split('=', 2))
            .ToDictionary(pair => pair[0], pair => pair.Length > 1 ? pair[1] : string.Empty, StringComparer.Ordinal);
        return new DriverCall(words[0], fields);
    }
}
