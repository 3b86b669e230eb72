using System.ComponentModel.DataAnnotations;

namespace Attach.Broker.Detection;

/// <summary>The GPU-work rule set (section <c>Detection</c>); the shipped rules are in <c>detection-rules.json</c>.</summary>
internal sealed class DetectionOptions
{
    public const string Section = "Detection";

    /// <summary>Rules tried in order; the first match decides.</summary>
    [Required]
    [MinLength(1, ErrorMessage = "Detection:Rules is empty: with no rules no cell ever gets a GPU. Check detection-rules.json.")]
    public List<DetectionRule> Rules { get; set; } = [];
}
