using Attach.Gateway.Tests.Channels.Fuzz;
using FsCheck;
using FsCheck.Fluent;

namespace Attach.Gateway.Tests.Channels;

/// <summary>
/// Property-based fuzzing of the relay's client side: at least 10,000 generated frames per run through the real
/// relay, and every stored failing input (Corpus/) replayed as a regression case.
/// </summary>
public sealed class KernelChannelFuzzTests
{
    private const int MinimumFrames = 10_000;

    /// <summary>ATTACH_FUZZ_CASES overrides the case count (e.g. a short local run); the 10,000-frame floor is checked only at the default.</summary>
    private static readonly int Cases = int.TryParse(Environment.GetEnvironmentVariable("ATTACH_FUZZ_CASES"), out var cases) ? cases : 1_100;
    // Short, but long enough that a loaded 2-core CI machine never cuts an orderly close short.
    private static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(2);

    public static TheoryData<string> CorpusFiles =>
        [.. Directory.EnumerateFiles(CorpusDirectory(), "*.json").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];

    [Fact]
    public void GeneratedFrames_ThroughTheRealRelay_MeetTheOracle()
    {
        var frames = 0;
        FuzzCase? lastFailure = null;
        var property = Prop.ForAll(FuzzFrames.Cases.ToArbitrary(), fuzzCase =>
        {
            try
            {
                Interlocked.Add(ref frames, FuzzRunner.Run(fuzzCase, CloseGrace));
            }
            catch
            {
                lastFailure = fuzzCase;
                throw;
            }
        });

        try
        {
            // Enough cases for 10,000 frames (a case sends until its first invalid frame); a fixed count keeps the run bounded.
            Check.One(Config.QuickThrowOnFailure.WithMaxTest(Cases).WithQuietOnSuccess(true), property);
        }
        catch when (lastFailure is not null)
        {
            var path = Path.Combine(CorpusDirectory(), $"fuzz-{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(lastFailure.ToJson())))[..12]}.json");
            File.WriteAllText(path, (lastFailure with { Note = "found by the fuzz; commit it once fixed" }).ToJson());
            throw;
        }

        Assert.True(frames >= MinimumFrames || Cases != 1_100, $"only {frames} frames were sent; raise the case count");
        Console.WriteLine($"fuzz: {frames} frames in {Cases} cases");
    }

    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public async Task CorpusCase_ThroughTheRealRelay_MeetsTheOracle(string file)
    {
        var fuzzCase = FuzzCase.FromJson(await File.ReadAllTextAsync(Path.Combine(CorpusDirectory(), file)));

        await FuzzRunner.RunAsync(fuzzCase, CloseGrace);
    }

    private static string CorpusDirectory([System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        // Failures are written to the source tree so they can be committed; replays read the same folder.
        var source = Path.Combine(Path.GetDirectoryName(sourceFile)!, "Corpus");
        return Directory.Exists(source) ? source : Path.Combine(AppContext.BaseDirectory, "Channels", "Corpus");
    }
}
