namespace Attach.Broker.Tests.Detection;

/// <summary>
/// Every cell under <c>Detection/Corpus/gpu</c> must attach a GPU and every cell under <c>Detection/Corpus/cpu</c>
/// must not, with the rules the broker ships. Cells the shipped rules get wrong are listed in
/// <see cref="KnownMisses"/> and skipped with the reason until the rules learn them.
/// </summary>
public sealed class DetectionCorpusTests
{
    private static readonly string CorpusDirectory = Path.Combine(AppContext.BaseDirectory, "Detection", "Corpus");

    /// <summary>Corpus cells (relative path) the shipped rules misclassify; add a cell here (skipped) only with a skipped row that says why.</summary>
    private static readonly HashSet<string> KnownMisses = new(StringComparer.Ordinal);

    public static TheoryData<string> GpuCells => Cells("gpu");

    public static TheoryData<string> CpuCells => Cells("cpu");

    [Theory]
    [MemberData(nameof(GpuCells))]
    public void GpuCell_NeedsAGpu(string cell) => AssertVerdict(cell);

    [Theory]
    [MemberData(nameof(CpuCells))]
    public void CpuCell_DoesNotAttach(string cell) => AssertVerdict(cell);

    [Fact]
    public void Corpus_HasAtLeast25CellsOfEachKind()
    {
        Assert.True(Directory.GetFiles(Path.Combine(CorpusDirectory, "gpu"), "*.py").Length >= 25);
        Assert.True(Directory.GetFiles(Path.Combine(CorpusDirectory, "cpu"), "*.py").Length >= 25);
    }

    [Fact]
    public void KnownMisses_AreAllInTheCorpus() =>
        Assert.All(KnownMisses, cell => Assert.True(File.Exists(Path.Combine(CorpusDirectory, cell)), $"{cell} is not in the corpus"));

    private static TheoryData<string> Cells(string kind)
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(CorpusDirectory, kind), "*.py").Order(StringComparer.Ordinal))
        {
            var cell = $"{kind}/{Path.GetFileName(file)}";
            if (!KnownMisses.Contains(cell))
            {
                data.Add(cell);
            }
        }

        return data;
    }

    private static void AssertVerdict(string cell)
    {
        var expected = cell.StartsWith("gpu/", StringComparison.Ordinal);
        var code = File.ReadAllText(Path.Combine(CorpusDirectory, cell));

        var detection = ShippedRules.Detector.Classify(code);

        Assert.True(
            detection.NeedsGpu == expected,
            expected ? $"{cell} needs a GPU but no rule matched" : $"{cell} must not attach but rule {detection.Rule} matched");
    }
}
