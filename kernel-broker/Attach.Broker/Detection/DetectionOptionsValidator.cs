using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Attach.Broker.Detection;

/// <summary>Compiles every rule at startup, so a typo in the rule file stops the broker with its name, not every cell later.</summary>
internal sealed class DetectionOptionsValidator : IValidateOptions<DetectionOptions>
{
    public ValidateOptionsResult Validate(string? name, DetectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        foreach (var rule in options.Rules)
        {
            try
            {
                _ = new Regex(rule.Pattern, RegexOptions.Multiline | RegexOptions.CultureInvariant);
            }
            catch (ArgumentException ex)
            {
                failures.Add($"Detection rule '{rule.Name}' is not a valid regular expression: {ex.Message}");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
