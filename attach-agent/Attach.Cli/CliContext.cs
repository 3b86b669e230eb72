using System.Collections;

namespace Attach.Cli;

/// <summary>
/// Everything the commands take from the process they run in: streams, environment, home folder, clock.
/// Tests build one over strings and a dictionary; <see cref="FromProcess"/> is the real one.
/// </summary>
internal sealed class CliContext
{
    public required TextWriter Out { get; init; }

    public required TextWriter Error { get; init; }

    public required TextReader In { get; init; }

    /// <summary>True when stdin is a terminal (a token may be prompted for).</summary>
    public bool InputIsTerminal { get; init; }

    /// <summary>True when stdout is a terminal (tables may use colour and the terminal's width).</summary>
    public bool OutputIsTerminal { get; init; }

    /// <summary>The process environment, as a snapshot.</summary>
    public required IReadOnlyDictionary<string, string> Environment { get; init; }

    /// <summary>The user's home folder.</summary>
    public required string HomeDirectory { get; init; }

    /// <summary>The folder attach.dll runs from (libattach.so is looked for next to it).</summary>
    public required string BaseDirectory { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Replaces the HTTP stack (tests); null for the real one.</summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    public string? Variable(string name) =>
        Environment.TryGetValue(name, out var value) && !string.IsNullOrEmpty(value) ? value : null;

    public static CliContext FromProcess()
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            environment[(string)entry.Key] = (string?)entry.Value ?? "";
        }

        return new CliContext
        {
            Out = Console.Out,
            Error = TextWriter.Synchronized(Console.Error),
            In = Console.In,
            InputIsTerminal = !Console.IsInputRedirected,
            OutputIsTerminal = !Console.IsOutputRedirected,
            Environment = environment,
            HomeDirectory = System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile),
            BaseDirectory = AppContext.BaseDirectory,
        };
    }
}
