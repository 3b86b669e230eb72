using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Attach.Gateway.Users;

/// <summary>
/// Reads <c>Gateway:UsersFile</c>, a JSON file that lists the users and their backends:
/// <code>
/// { "users": [ { "name": "ada", "tokenHash": "pbkdf2-sha256$600000$…$…", "admin": true,
///                "jupyter": { "url": "http://127.0.0.1:9001/user/ada/", "token": "…" },
///                "codeServer": { "url": "http://127.0.0.1:9101/" } } ] }
/// </code>
/// Every mistake is reported at start, with the user and the field, so the gateway never runs half-configured.
/// </summary>
internal static partial class UsersFile
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    public static IReadOnlyList<GatewayUser> Load(string path, bool jwtConfigured)
    {
        if (!File.Exists(path))
        {
            throw new UsersFileException($"Gateway:UsersFile '{path}' does not exist: create it (see samples/jupyterhub/README.md for its shape) or unset Gateway:UsersFile for single-user mode.");
        }

        Document? document;
        try
        {
            document = JsonSerializer.Deserialize<Document>(File.ReadAllText(path), Json);
        }
        catch (JsonException ex)
        {
            throw new UsersFileException($"Gateway:UsersFile '{path}' is not valid: {ex.Message}");
        }

        return Parse(document, path, jwtConfigured);
    }

    internal static IReadOnlyList<GatewayUser> Parse(Document? document, string path, bool jwtConfigured)
    {
        if (document?.Users is not { Count: > 0 } entries)
        {
            throw new UsersFileException($"Gateway:UsersFile '{path}' lists no users: add at least one under \"users\".");
        }

        var users = new List<GatewayUser>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            string Where() => $"Gateway:UsersFile '{path}', user #{i + 1}{(string.IsNullOrEmpty(entry.Name) ? "" : $" ({entry.Name})")}";
            if (entry.Name is null || !UserName().IsMatch(entry.Name))
            {
                throw new UsersFileException($"{Where()}: \"name\" must be 1-64 of letters, digits, '.', '_', '@', '-'.");
            }

            if (!names.Add(entry.Name))
            {
                throw new UsersFileException($"{Where()}: the name is listed twice (names are compared ignoring case).");
            }

            if (entry.TokenHash is null && !jwtConfigured)
            {
                throw new UsersFileException($"{Where()}: \"tokenHash\" is missing; without Gateway:Jwt the user could not sign in. Make one with `dotnet Attach.Gateway.dll hash-token`.");
            }

            if (entry.TokenHash is not null && !TokenHash.IsWellFormed(entry.TokenHash, out var hashError))
            {
                throw new UsersFileException($"{Where()}: \"tokenHash\" is not valid: {hashError}.");
            }

            if (entry.Jupyter?.Url is null || !entry.Jupyter.Url.IsAbsoluteUri || entry.Jupyter.Url.Scheme is not ("http" or "https"))
            {
                throw new UsersFileException($"{Where()}: \"jupyter\": {{ \"url\": … }} is required, an http(s) URL of the user's Jupyter Server.");
            }

            var prefix = $"/user/{entry.Name}/";
            var jupyterPath = entry.Jupyter.Url.AbsolutePath;
            if (!jupyterPath.EndsWith(prefix, StringComparison.Ordinal))
            {
                throw new UsersFileException($"{Where()}: the Jupyter URL must end in {prefix}: run the server with base_url={prefix} (--ServerApp.base_url or --NotebookApp.base_url) so its pages and redirects match the gateway's path.");
            }

            if (string.IsNullOrEmpty(entry.Jupyter.Token))
            {
                throw new UsersFileException($"{Where()}: \"jupyter\": {{ \"token\": … }} is required: the gateway authenticates to the user's Jupyter Server with it.");
            }

            if (entry.CodeServer is not null && (entry.CodeServer.Url is null || !entry.CodeServer.Url.IsAbsoluteUri || entry.CodeServer.Url.Scheme is not ("http" or "https")))
            {
                throw new UsersFileException($"{Where()}: \"codeServer\": {{ \"url\": … }} must be an http(s) URL.");
            }

            var destination = new UriBuilder(entry.Jupyter.Url) { Path = jupyterPath[..^(prefix.Length - 1)] }.Uri;
            users.Add(new GatewayUser(
                entry.Name,
                entry.TokenHash,
                entry.Admin,
                new JupyterBackend(entry.Jupyter.Url, entry.Jupyter.Token) { Destination = destination },
                entry.CodeServer?.Url));
        }

        return users;
    }

    [GeneratedRegex("^[A-Za-z0-9._@-]{1,64}$", RegexOptions.CultureInvariant)]
    internal static partial Regex UserName();

    internal sealed class Document
    {
        public List<Entry>? Users { get; set; }
    }

    internal sealed class Entry
    {
        public string? Name { get; set; }

        public string? TokenHash { get; set; }

        public bool Admin { get; set; }

        public Backend? Jupyter { get; set; }

        public Backend? CodeServer { get; set; }
    }

    internal sealed class Backend
    {
        public Uri? Url { get; set; }

        public string? Token { get; set; }
    }
}

/// <summary>The users file cannot be used; the message says what to fix.</summary>
internal sealed class UsersFileException(string message) : Exception(message);
