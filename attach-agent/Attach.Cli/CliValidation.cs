using System.CommandLine;

namespace Attach.Cli;

/// <summary>Checks System.CommandLine does not make on its own.</summary>
internal static class CliValidation
{
    /// <summary>
    /// An unknown option ("--jsn") would otherwise be taken as the value of an optional argument
    /// (a kernel id); refuse it as the usage error it is.
    /// </summary>
    public static void RejectOptionLike(Command command, Argument<string?> argument) =>
        command.Validators.Add(result =>
        {
            if (result.GetValue(argument) is { } value && value.StartsWith('-'))
            {
                result.AddError($"Unknown option {value}. 'attach {command.Name} --help' lists the options.");
            }
        });
}
