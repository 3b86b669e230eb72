using System.ComponentModel.DataAnnotations;

namespace Attach.Broker.Detection;

/// <summary>One named pattern that marks code as GPU work (configured under <c>Detection:Rules</c>).</summary>
internal sealed class DetectionRule
{
    /// <summary>A short name, shown in logs and in the cell's message ("rule torch-cuda-call").</summary>
    [Required]
    public string Name { get; set; } = "";

    /// <summary>A .NET regular expression, matched against the cell with comments removed, multiline.</summary>
    [Required]
    public string Pattern { get; set; } = "";

    /// <summary>What the rule is for, for people reading the rule file.</summary>
    public string Description { get; set; } = "";
}
