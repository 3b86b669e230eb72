namespace Attach.Broker.Detection;

/// <summary>The outcome of classifying one cell.</summary>
/// <param name="NeedsGpu">True when a rule matched.</param>
/// <param name="Rule">The matching rule's name, or <c>none</c>.</param>
internal readonly record struct Detection(bool NeedsGpu, string Rule)
{
    public static Detection None { get; } = new(false, "none");
}
