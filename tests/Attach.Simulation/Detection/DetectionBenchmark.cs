using Attach.Broker.Detection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Attach.Simulation.Detection;

/// <summary>
/// Runs the broker's <see cref="GpuWorkDetector"/> with the rule file it ships over the corpus of notebook cells
/// kept with its tests (<c>Corpus/gpu</c> must attach, <c>Corpus/cpu</c> must not).
/// </summary>
internal static class DetectionBenchmark
{
    public static DetectionScore Score(string rulesFile, string corpusDirectory)
    {
        var detector = new GpuWorkDetector(Options.Create(LoadRules(rulesFile)));
        return Score(code => detector.Classify(code) is var d ? (d.NeedsGpu, d.Rule) : default, corpusDirectory);
    }

    public static DetectionScore Score(Func<string, (bool NeedsGpu, string Rule)> classify, string corpusDirectory)
    {
        ArgumentNullException.ThrowIfNull(classify);
        int tp = 0, fp = 0, tn = 0, fn = 0;
        var wrong = new List<Misclassified>();
        foreach (var kind in new[] { "gpu", "cpu" })
        {
            var directory = Path.Combine(corpusDirectory, kind);
            if (!Directory.Exists(directory))
            {
                throw new DirectoryNotFoundException($"the detection corpus has no {directory}: run from a checkout of the repository");
            }

            foreach (var file in Directory.GetFiles(directory, "*.py").Order(StringComparer.Ordinal))
            {
                var needsGpu = kind == "gpu";
                var (attached, rule) = classify(File.ReadAllText(file));
                switch (needsGpu, attached)
                {
                    case (true, true): tp++; break;
                    case (false, false): tn++; break;
                    case (true, false): fn++; break;
                    case (false, true): fp++; break;
                }

                if (needsGpu != attached)
                {
                    wrong.Add(new Misclassified($"{kind}/{Path.GetFileName(file)}", needsGpu, rule));
                }
            }
        }

        return new DetectionScore(tp, fp, tn, fn, wrong);
    }

    /// <summary>Binds the rule file as the broker does (section <c>Detection</c>).</summary>
    private static DetectionOptions LoadRules(string rulesFile)
    {
        var configuration = new ConfigurationBuilder().AddJsonFile(Path.GetFullPath(rulesFile), optional: false).Build();
        var options = new DetectionOptions();
        configuration.GetSection(DetectionOptions.Section).Bind(options);
        return options;
    }
}
