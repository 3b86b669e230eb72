using System.ComponentModel.DataAnnotations;

namespace Attach.ServiceDefaults.Security;

/// <summary>The key the gateway, broker and agents present to each other.</summary>
public sealed class InternalKeyOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Attach";

    /// <summary>
    /// Shared secret (at least 32 characters). <c>make run</c> generates one under <c>.attach/</c>;
    /// production passes it through the environment (<c>Attach__InternalKey</c>).
    /// </summary>
    [Required(ErrorMessage = "Attach:InternalKey is not set. Set Attach__InternalKey in the environment (make run generates one in .attach/internal.key).")]
    [MinLength(32, ErrorMessage = "Attach:InternalKey must be at least 32 characters.")]
    public string InternalKey { get; set; } = "";
}
