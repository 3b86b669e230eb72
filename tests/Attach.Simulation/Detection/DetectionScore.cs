namespace Attach.Simulation.Detection;

/// <summary>The detection rules' verdicts over the corpus: a GPU cell that attaches is a true positive.</summary>
internal sealed record DetectionScore(int TruePositives, int FalsePositives, int TrueNegatives, int FalseNegatives, IReadOnlyList<Misclassified> Misclassified)
{
    /// <summary>Of the cells that attached, the share that needed a GPU (1 when none attached).</summary>
    public double Precision => TruePositives + FalsePositives == 0 ? 1 : TruePositives / (double)(TruePositives + FalsePositives);

    /// <summary>Of the cells that needed a GPU, the share that attached (1 when none needed one).</summary>
    public double Recall => TruePositives + FalseNegatives == 0 ? 1 : TruePositives / (double)(TruePositives + FalseNegatives);
}

/// <summary>A corpus cell the rules got wrong, and the rule that matched (or "none").</summary>
internal sealed record Misclassified(string Cell, bool NeedsGpu, string Rule);
