using Attach.Broker.Detection;

namespace Attach.Broker.Tests.Detection;

public sealed class SliceDirectiveTests
{
    [Theory]
    [InlineData("%attach gpu mem=20G\nmodel.cuda()", null, 20480L)]
    [InlineData("# attach: mem=20G\nx = 1", null, 20480L)]
    [InlineData("#attach: memory=512MiB", null, 512L)]
    [InlineData("import torch\n# attach: profile=half\nmodel.cuda()", "half", null)]
    [InlineData("%attach gpu mem=1.5g", null, 1536L)]
    public void Find_ReadsTheSize(string code, string? profile, long? memoryMiB)
    {
        var directive = SliceDirective.Find(code);

        Assert.Equal(new SliceDirective(profile, memoryMiB, null), directive);
    }

    [Theory]
    [InlineData("model.cuda()")]
    [InlineData("print('# attach: mem=20G')")]
    [InlineData("%attach gpu")]
    public void Find_NoDirective_IsNull(string code) => Assert.Null(SliceDirective.Find(code));

    [Theory]
    [InlineData("# attach: mem=lots", "not a size")]
    [InlineData("# attach: mem=20G profile=half", "not both")]
    [InlineData("%attach gpu size=20G", "not understood")]
    public void Find_Unreadable_SaysWhatToWrite(string code, string message)
    {
        var directive = SliceDirective.Find(code);

        Assert.Contains(message, directive!.Error, StringComparison.Ordinal);
    }
}
