namespace Attach.Broker.Tests.Detection;

/// <summary>
/// Every cell under <c>Detection/Corpus/gpu</c> must attach a GPU and every cell under <c>Detection/Corpus/cpu</c>
/// must not, with the rules the broker ships. Cells the shipped rules get wrong are listed in
/// <see cref="KnownMisses"/> and skipped with the reason until the rules learn them.
/// </summary>
public sealed class DetectionCorpusTests
{
    private static readonly string CorpusDirectory = Path.Combine(AppContext.BaseDirectory, "Detection", "Corpus");

    /// <summary>Corpus cells (relative path) the shipped rules misclassify; each has a skipped row in <see cref="KnownMiss_CellIsClassifiedAsItsFolderSays"/>.</summary>
    private static readonly HashSet<string> KnownMisses = new(StringComparer.Ordinal)
    {
        "gpu/ddp_fstring_rank_device.py",
        "gpu/load_checkpoint_map_location_cuda.py",
        "gpu/autocast_device_type_cuda.py",
        "gpu/uppercase_device_constant.py",
        "gpu/huggingface_pipeline_device_index.py",
        "gpu/huggingface_device_map_auto.py",
        "gpu/lightning_accelerator_gpu.py",
        "gpu/rapids_cudf.py",
        "gpu/tensorflow_lowercase_gpu_device.py",
        "cpu/torch_is_available_print.py",
        "cpu/torch_is_available_branch.py",
        "cpu/docstring_mentions_cuda.py",
        "cpu/print_tip_mentions_to_cuda.py",
    };

    public static TheoryData<string> GpuCells => Cells("gpu");

    public static TheoryData<string> CpuCells => Cells("cpu");

    [Theory]
    [MemberData(nameof(GpuCells))]
    public void GpuCell_NeedsAGpu(string cell) => AssertVerdict(cell);

    [Theory]
    [MemberData(nameof(CpuCells))]
    public void CpuCell_DoesNotAttach(string cell) => AssertVerdict(cell);

    [Theory]
    [InlineData("gpu/ddp_fstring_rank_device.py", Skip = "KNOWN MISS: cuda-device-string needs a literal \"cuda\" or \"cuda:N\"; f\"cuda:{rank}\" (the usual DDP device) does not match")]
    [InlineData("gpu/load_checkpoint_map_location_cuda.py", Skip = "KNOWN MISS: torch.load(..., map_location=\"cuda\") matches no rule (only device= is recognised)")]
    [InlineData("gpu/autocast_device_type_cuda.py", Skip = "KNOWN MISS: torch.autocast(device_type=\"cuda\") matches no rule (the pattern wants \"device=\", not \"device_type=\")")]
    [InlineData("gpu/uppercase_device_constant.py", Skip = "KNOWN MISS: DEVICE = \"cuda\" then .to(DEVICE): the rules are case-sensitive and .to() of a variable is not followed")]
    [InlineData("gpu/huggingface_pipeline_device_index.py", Skip = "KNOWN MISS: HuggingFace pipeline(..., device=0) picks GPU 0 by index; no rule knows integer devices")]
    [InlineData("gpu/huggingface_device_map_auto.py", Skip = "KNOWN MISS: from_pretrained(..., device_map=\"auto\") loads onto the GPU; no rule knows device_map")]
    [InlineData("gpu/lightning_accelerator_gpu.py", Skip = "KNOWN MISS: Lightning Trainer(accelerator=\"gpu\") matches no rule")]
    [InlineData("gpu/rapids_cudf.py", Skip = "KNOWN MISS: RAPIDS cuDF (import cudf) always runs on the GPU; no rule knows it")]
    [InlineData("gpu/tensorflow_lowercase_gpu_device.py", Skip = "KNOWN MISS: tf.device(\"/gpu:0\") in lower case (accepted by TensorFlow) does not match the upper-case GPU pattern")]
    [InlineData("cpu/torch_is_available_print.py", Skip = "KNOWN MISS: print(torch.cuda.is_available()) attaches: torch-cuda-api excuses is_available() only when it ends the line")]
    [InlineData("cpu/torch_is_available_branch.py", Skip = "KNOWN MISS: if not torch.cuda.is_available(): attaches, same cause as the print() form")]
    [InlineData("cpu/docstring_mentions_cuda.py", Skip = "KNOWN MISS: a docstring that mentions model.cuda() attaches: string literals are kept, so prose about .cuda() matches cuda-call")]
    [InlineData("cpu/print_tip_mentions_to_cuda.py", Skip = "KNOWN MISS: a printed tip mentioning model.to('cuda') attaches: strings are kept, so cuda-device-string matches")]
    public void KnownMiss_CellIsClassifiedAsItsFolderSays(string cell) => AssertVerdict(cell);

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
