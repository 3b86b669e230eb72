using System.Text.RegularExpressions;

namespace Attach.Cli.Run;

/// <summary>Session tokens as the agent accepts them: <c>[A-Za-z0-9._-]{1,128}</c>.</summary>
internal static partial class SessionIds
{
    public static string New() => $"run-{Guid.NewGuid():N}";

    public static bool IsValid(string? session) => session is not null && Pattern().IsMatch(session);

    [GeneratedRegex(@"\A[A-Za-z0-9._-]{1,128}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
