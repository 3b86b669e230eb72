namespace Attach.Gateway.Users;

/// <summary>One user of the gateway and the backends that serve them.</summary>
/// <param name="Name">The user's name: the <c>/user/{name}/</c> prefix and the owner the broker sees.</param>
/// <param name="TokenHash">The hashed token (<see cref="Users.TokenHash"/>); null for users who sign in only with a JWT.</param>
/// <param name="Admin">Carried as the <c>admin</c> role; it does not open other users' routes.</param>
/// <param name="Jupyter">The user's Jupyter Server.</param>
/// <param name="CodeServer">The user's code-server / openvscode-server, if any, reached under <c>/user/{name}/vscode/</c>.</param>
internal sealed record GatewayUser(string Name, string? TokenHash, bool Admin, JupyterBackend Jupyter, Uri? CodeServer)
{
    /// <summary>Where the user's routes start: <c>/user/{name}/</c> (or <c>/</c> in single-user mode).</summary>
    public string Prefix { get; init; } = $"/user/{Name}/";
}

/// <summary>A Jupyter Server and the token the gateway presents to it.</summary>
/// <param name="Url">The server's base URL, including its base_url (e.g. <c>http://10.0.0.5:8888/user/ada/</c>).</param>
/// <param name="Token">The server's own token; sent only to that server.</param>
internal sealed record JupyterBackend(Uri Url, string Token)
{
    /// <summary>
    /// The proxy destination: <see cref="Url"/> without its <c>/user/{name}/</c> tail, because the request path,
    /// which already starts with that prefix, is passed through unchanged.
    /// </summary>
    public Uri Destination { get; init; } = Url;
}
