using Spectre.Console;

namespace Attach.Cli;

/// <summary>A Spectre console over one of the context's writers: colour only on a terminal.</summary>
internal static class CliConsole
{
    public static IAnsiConsole For(TextWriter writer, bool terminal)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!terminal)
        {
            // Piped output has no width; a table wide enough for a GPU name and a kernel id stays on one line.
            console.Profile.Width = 160;
        }

        return console;
    }

    /// <summary>"3 min ago", "in 4 min 10 s": times relative to now, as people read them.</summary>
    public static string Relative(DateTimeOffset when, DateTimeOffset now)
    {
        var delta = when - now;
        var text = Duration(delta.Duration());
        return delta < TimeSpan.Zero ? $"{text} ago" : $"in {text}";
    }

    public static string Duration(TimeSpan span) => span switch
    {
        { TotalSeconds: < 60 } => $"{(int)span.TotalSeconds} s",
        { TotalMinutes: < 60 } => $"{(int)span.TotalMinutes} min {span.Seconds} s",
        { TotalHours: < 24 } => $"{(int)span.TotalHours} h {span.Minutes} min",
        _ => $"{(int)span.TotalDays} d {span.Hours} h",
    };

    /// <summary>"20 GiB", "512 MiB"; in tables a reading such as 3000 MiB reads better as "2.9 GiB".</summary>
    public static string MiB(long mib) =>
        mib >= 1024 && mib % 1024 != 0 ? $"{mib / 1024.0:0.#} GiB" : Attach.Contracts.Pool.MemorySize.Format(mib);
}
