using System.Text.RegularExpressions;
using Attach.Broker.Detection;
using Microsoft.Extensions.Options;

namespace Attach.Broker.Tests.Detection;

public sealed class GpuWorkDetectorTests
{
    [Fact]
    public void ShippedRules_LoadAndEachHasANameAndPattern()
    {
        var options = ShippedRules.Load();

        Assert.True(options.Rules.Count >= 5);
        Assert.All(options.Rules, r => Assert.False(string.IsNullOrWhiteSpace(r.Name)));
        Assert.All(options.Rules, r => Assert.False(string.IsNullOrWhiteSpace(r.Pattern)));
        Assert.Equal(options.Rules.Count, options.Rules.Select(r => r.Name).Distinct().Count());
    }

    [Theory]
    [InlineData("model = model.cuda()", "cuda-call")]
    [InlineData("x = x.to('cuda:3')", "cuda-device-string")]
    [InlineData("torch.cuda.empty_cache()", "torch-cuda-api")]
    [InlineData("import cupy as cp", "cupy")]
    [InlineData("@cuda.jit\ndef k(a):\n    pass", "numba-cuda")]
    [InlineData("!nvidia-smi", "nvidia-smi")]
    [InlineData("%%gpu\nrun()", "gpu-magic")]
    [InlineData("tf.config.list_physical_devices('GPU')", "tensorflow-gpu")]
    [InlineData("jax.devices('gpu')", "jax-gpu")]
    public void Classify_GpuCell_NamesTheRuleThatMatched(string code, string rule) =>
        Assert.Equal(new Attach.Broker.Detection.Detection(true, rule), ShippedRules.Detector.Classify(code));

    [Fact]
    public void Classify_CpuCell_SaysNone() =>
        Assert.Equal(Attach.Broker.Detection.Detection.None, ShippedRules.Detector.Classify("df.describe()"));

    [Fact]
    public void Classify_EmptyCell_DoesNotAttach() =>
        Assert.False(ShippedRules.Detector.Classify("").NeedsGpu);

    [Fact]
    public void Classify_CommentedOutGpuCode_DoesNotAttach() =>
        Assert.False(ShippedRules.Detector.Classify("x = 1  # x.cuda()\n# torch.cuda.synchronize()\n    # !nvidia-smi").NeedsGpu);

    [Fact]
    public void Classify_GpuCodeAfterAStringWithAHash_Attaches() =>
        Assert.True(ShippedRules.Detector.Classify("print('step #1'); x = x.cuda()").NeedsGpu);

    [Fact]
    public void Classify_FirstMatchingRuleDecides()
    {
        var detector = Detector(("first", "cuda"), ("second", @"\.cuda\("));

        Assert.Equal("first", detector.Classify("x.cuda()").Rule);
    }

    [Fact]
    public void Classify_RuleThatTimesOut_DoesNotThrowAndTheNextRuleStillDecides()
    {
        const string catastrophic = "(x+x+)+y";
        var code = new string('x', 64) + " gpu";
        // Precondition: this pattern really does exceed the detector's match timeout on this input.
        Assert.Throws<RegexMatchTimeoutException>(() => new Regex(catastrophic, RegexOptions.None, TimeSpan.FromMilliseconds(250)).IsMatch(code));
        var detector = Detector(("catastrophic", catastrophic), ("fallback", "gpu"));

        var detection = detector.Classify(code);

        Assert.Equal(new Attach.Broker.Detection.Detection(true, "fallback"), detection);
    }

    [Fact]
    public void Classify_OnlyRuleTimesOut_CellDoesNotAttach()
    {
        var detector = Detector(("catastrophic", "(x+x+)+y"));

        var detection = detector.Classify(new string('x', 64));

        Assert.Equal(Attach.Broker.Detection.Detection.None, detection);
    }

    [Theory]
    [InlineData("x = 1  # set x", "x = 1  ")]
    [InlineData("# heading\nx = 1", "\nx = 1")]
    [InlineData("a = 1\n# one\n# two\nb = 2", "a = 1\n\n\nb = 2")]
    [InlineData("no comment here", "no comment here")]
    public void RemoveComments_DropsCommentsKeepsLines(string code, string expected) =>
        Assert.Equal(expected, GpuWorkDetector.RemoveComments(code));

    [Theory]
    [InlineData("s = \"a # b\"  # comment", "s = \"a # b\"  ")]
    [InlineData("s = 'issue #42'", "s = 'issue #42'")]
    [InlineData("url = f\"{base}/#/{page}\"  # anchor", "url = f\"{base}/#/{page}\"  ")]
    [InlineData("d = {'#': 1, \"#\": 2}  # both", "d = {'#': 1, \"#\": 2}  ")]
    public void RemoveComments_HashInsideAString_IsKept(string code, string expected) =>
        Assert.Equal(expected, GpuWorkDetector.RemoveComments(code));

    [Fact]
    public void RemoveComments_TripleQuotedStringOverSeveralLines_IsKeptWhole()
    {
        const string code = "doc = \"\"\"\n# Usage\nIt's \"quoted\" # still text\n\"\"\"  # real comment\nx.cuda()";

        Assert.Equal("doc = \"\"\"\n# Usage\nIt's \"quoted\" # still text\n\"\"\"  \nx.cuda()", GpuWorkDetector.RemoveComments(code));
    }

    [Fact]
    public void RemoveComments_SingleQuotedTripleString_IsKeptWhole()
    {
        const string code = "sql = '''\nSELECT 1 -- # of rows\n'''\n# done";

        Assert.Equal("sql = '''\nSELECT 1 -- # of rows\n'''\n", GpuWorkDetector.RemoveComments(code));
    }

    [Theory]
    [InlineData("s = \"say \\\"hi\\\" # not a comment\"  # comment", "s = \"say \\\"hi\\\" # not a comment\"  ")]
    [InlineData("s = 'it\\'s # here'  # gone", "s = 'it\\'s # here'  ")]
    [InlineData("p = \"C:\\\\\"  # a path ending in a backslash", "p = \"C:\\\\\"  ")]
    public void RemoveComments_EscapedQuotes_DoNotEndTheString(string code, string expected) =>
        Assert.Equal(expected, GpuWorkDetector.RemoveComments(code));

    [Fact]
    public void RemoveComments_QuoteInsideAComment_DoesNotOpenAString()
    {
        const string code = "x = 1  # don't\ny = 2  # it's fine\n# model.cuda()";

        Assert.Equal("x = 1  \ny = 2  \n", GpuWorkDetector.RemoveComments(code));
    }

    [Fact]
    public void RemoveComments_UnterminatedStringEndsAtTheLineEnd()
    {
        const string code = "s = 'oops\n# model.cuda()\nz = 3";

        Assert.Equal("s = 'oops\n\nz = 3", GpuWorkDetector.RemoveComments(code));
    }

    [Fact]
    public void RemoveComments_EmptyStringBeforeAComment_IsNotATripleQuote()
    {
        const string code = "s = ''  # empty\nx.cuda()";

        Assert.Equal("s = ''  \nx.cuda()", GpuWorkDetector.RemoveComments(code));
    }

    private static GpuWorkDetector Detector(params (string Name, string Pattern)[] rules) =>
        new(Options.Create(new DetectionOptions
        {
            Rules = [.. rules.Select(r => new DetectionRule { Name = r.Name, Pattern = r.Pattern })],
        }));
}
