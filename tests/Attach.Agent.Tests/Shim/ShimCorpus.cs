using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Attach.Agent.Tests.Shim;

/// <summary>
/// The checked-in regression cases under <c>Shim/Corpus</c>: each <c>.hex</c> file holds the bytes a client sends
/// (hex pairs and <c>"ascii"</c> strings; <c>#</c> starts a comment) and, in an <c># expect:</c> line, the replies the
/// agent must send before it closes: message names (<c>welcome</c>, <c>granted</c>, …) or error codes.
/// </summary>
internal static class ShimCorpus
{
    public static string Directory([CallerFilePath] string sourceFile = "") => Path.Combine(Path.GetDirectoryName(sourceFile)!, "Corpus");

    public static TheoryData<string> Names()
    {
        var names = new TheoryData<string>();
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory(), "*.hex").Order(StringComparer.Ordinal))
        {
            names.Add(Path.GetFileNameWithoutExtension(file));
        }

        return names;
    }

    public static (byte[] Bytes, string[] Expected) Load(string name)
    {
        var text = File.ReadAllText(Path.Combine(Directory(), name + ".hex"));
        var expectLine = text.Split('\n').Single(line => line.StartsWith("# expect:", StringComparison.Ordinal));
        var expected = expectLine["# expect:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (Parse(text), expected);
    }

    public static byte[] Parse(string text)
    {
        var bytes = new List<byte>();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '#')
            {
                while (i < text.Length && text[i] != '\n')
                {
                    i++;
                }
            }
            else if (c == '"')
            {
                var end = text.IndexOf('"', i + 1);
                bytes.AddRange(Encoding.UTF8.GetBytes(text[(i + 1)..end]));
                i = end;
            }
            else if (!char.IsWhiteSpace(c))
            {
                bytes.Add(byte.Parse(text.AsSpan(i, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                i++;
            }
        }

        return [.. bytes];
    }

    /// <summary>Bytes in the corpus format, for a failing fuzz case to be checked in.</summary>
    public static string Format(byte[] bytes) => string.Join(' ', bytes.Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
}
