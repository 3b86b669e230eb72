using Attach.Simulation.Detection;

namespace Attach.Simulation.Tests.Detection;

public sealed class DetectionBenchmarkTests : IDisposable
{
    private readonly string _corpus = Directory.CreateTempSubdirectory("attach-corpus-").FullName;

    public void Dispose() => Directory.Delete(_corpus, recursive: true);

    [Fact]
    public void Score_CountsEachVerdict_AndListsTheMisclassifiedCells()
    {
        Write("gpu/a.py", "x.cuda()");
        Write("gpu/b.py", "x.cuda()");
        Write("gpu/missed.py", "plain");
        Write("cpu/c.py", "plain");
        Write("cpu/wrong.py", "x.cuda()");

        var score = DetectionBenchmark.Score(code => code.Contains("cuda", StringComparison.Ordinal) ? (true, "cuda-call") : (false, "none"), _corpus);

        Assert.Equal((2, 1, 1, 1), (score.TruePositives, score.FalsePositives, score.TrueNegatives, score.FalseNegatives));
        Assert.Equal(2 / 3.0, score.Precision, 9);
        Assert.Equal(2 / 3.0, score.Recall, 9);
        Assert.Equal(["cpu/wrong.py", "gpu/missed.py"], score.Misclassified.Select(m => m.Cell).Order(StringComparer.Ordinal));
        Assert.Equal("cuda-call", score.Misclassified.Single(m => m.Cell == "cpu/wrong.py").Rule);
    }

    [Fact]
    public void ShippedRules_OverTheRepositoryCorpus_AreScored()
    {
        var root = Attach.Simulation.Reporting.RepositoryRoot.Find();

        var score = DetectionBenchmark.Score(
            Path.Combine(root, "kernel-broker", "Attach.Broker", "detection-rules.json"),
            Path.Combine(root, "tests", "Attach.Broker.Tests", "Detection", "Corpus"));

        Assert.True(score.TruePositives + score.FalseNegatives >= 25);
        Assert.True(score.TrueNegatives + score.FalsePositives >= 25);
    }

    [Fact]
    public void MissingCorpus_SaysWhereItLooked() =>
        Assert.Contains(Path.Combine(_corpus, "gpu"), Assert.Throws<DirectoryNotFoundException>(() => DetectionBenchmark.Score(_ => (false, "none"), _corpus)).Message, StringComparison.Ordinal);

    private void Write(string relative, string code)
    {
        var path = Path.Combine(_corpus, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, code);
    }
}
