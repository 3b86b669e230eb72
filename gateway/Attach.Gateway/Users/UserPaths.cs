namespace Attach.Gateway.Users;

/// <summary>The <c>/user/{name}/…</c> addresses of multi-user mode.</summary>
internal static class UserPaths
{
    public const string Root = "/user";

    /// <summary>Where a user's code-server lives under their prefix; the gateway strips <c>/user/{name}/vscode</c>.</summary>
    public const string CodeServerSegment = "vscode";

    /// <summary>The <c>{name}</c> of a <c>/user/{name}</c> or <c>/user/{name}/…</c> path, else null.</summary>
    public static string? UserOf(PathString path)
    {
        if (!path.StartsWithSegments(Root, StringComparison.Ordinal, out var rest) || !rest.HasValue || rest.Value!.Length < 2)
        {
            return null;
        }

        var value = rest.Value!;
        var end = value.IndexOf('/', 1);
        return end < 0 ? value[1..] : value[1..end];
    }

    public static string PrefixOf(string user) => $"{Root}/{user}/";
}
