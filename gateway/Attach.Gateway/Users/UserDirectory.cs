using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Attach.Gateway.Users;

/// <summary>
/// Who may use the gateway and where their backends are. Single-user mode (no users file): one user, the
/// token in <c>Gateway:Token</c>, the Jupyter Server at the root. Multi-user mode: the users file.
/// </summary>
internal sealed class UserDirectory
{
    /// <summary>Tokens already verified, by their SHA-256: PBKDF2 is deliberately slow and clients send the token on every request.</summary>
    private const int MaxCachedTokens = 10_000;

    private readonly Dictionary<string, GatewayUser> _users;
    private readonly byte[]? _singleToken;
    private readonly ConcurrentDictionary<string, GatewayUser> _verified = new(StringComparer.Ordinal);

    private UserDirectory(IEnumerable<GatewayUser> users, byte[]? singleToken, bool multiUser)
    {
        _users = users.ToDictionary(u => u.Name, StringComparer.Ordinal);
        _singleToken = singleToken;
        IsMultiUser = multiUser;
    }

    /// <summary>True when a users file is in use: backends live under <c>/user/{name}/</c>.</summary>
    public bool IsMultiUser { get; }

    public IReadOnlyCollection<GatewayUser> Users => _users.Values;

    public static UserDirectory SingleUser(GatewayOptions options) => new(
        [new GatewayUser(options.User, null, Admin: true, new JupyterBackend(options.JupyterUrl!, options.JupyterToken), null) { Prefix = "/" }],
        Encoding.UTF8.GetBytes(options.Token),
        multiUser: false);

    public static UserDirectory MultiUser(IEnumerable<GatewayUser> users) => new(users, null, multiUser: true);

    public GatewayUser? Find(string name) => _users.GetValueOrDefault(name);

    /// <summary>
    /// The user whose token this is, or null. <paramref name="hint"/> (the name in a <c>/user/{name}/</c> path)
    /// is tried first, so a request to one's own server costs one hash, not one per user.
    /// </summary>
    public GatewayUser? Authenticate(string token, string? hint)
    {
        if (_singleToken is not null)
        {
            return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(token), _singleToken) ? _users.Values.Single() : null;
        }

        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        if (_verified.TryGetValue(key, out var known))
        {
            return known;
        }

        var candidates = hint is not null && _users.TryGetValue(hint, out var hinted)
            ? _users.Values.Where(u => u != hinted).Prepend(hinted)
            : _users.Values;
        foreach (var user in candidates)
        {
            if (user.TokenHash is not null && TokenHash.Verify(token, user.TokenHash))
            {
                if (_verified.Count >= MaxCachedTokens)
                {
                    _verified.Clear();
                }

                _verified[key] = user;
                return user;
            }
        }

        return null;
    }
}
