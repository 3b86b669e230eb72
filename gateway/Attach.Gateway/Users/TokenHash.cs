using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Attach.Gateway.Users;

/// <summary>
/// The hashed form of a user's token kept in the users file:
/// <c>pbkdf2-sha256${iterations}${salt, base64}${hash, base64}</c>. The salt and iteration count travel with
/// the hash, so older entries keep verifying after the default count is raised.
/// </summary>
internal static class TokenHash
{
    public const string Algorithm = "pbkdf2-sha256";

    /// <summary>OWASP's 2023 figure for PBKDF2-HMAC-SHA256.</summary>
    public const int DefaultIterations = 600_000;

    /// <summary>Below this a hash is refused when the file is read: too cheap to guess against.</summary>
    public const int MinIterations = 10_000;

    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    public static string Create(string token, int iterations = DefaultIterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, MinIterations);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(token), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return string.Create(CultureInfo.InvariantCulture, $"{Algorithm}${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
    }

    /// <summary>Checks the form of a stored hash; <paramref name="error"/> says what is wrong with it.</summary>
    public static bool IsWellFormed(string encoded, out string error) => TryParse(encoded, out _, out _, out _, out error);

    /// <summary>Whether <paramref name="token"/> is the one <paramref name="encoded"/> was made from, in constant time.</summary>
    public static bool Verify(string token, string encoded)
    {
        if (!TryParse(encoded, out var iterations, out var salt, out var expected, out _))
        {
            return false;
        }

        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(token), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    private static bool TryParse(string encoded, out int iterations, out byte[] salt, out byte[] hash, out string error)
    {
        iterations = 0;
        salt = hash = [];
        var parts = encoded.Split('$');
        if (parts.Length != 4 || parts[0] != Algorithm)
        {
            error = $"expected '{Algorithm}$<iterations>$<salt>$<hash>' (make one with `dotnet Attach.Gateway.dll hash-token`)";
            return false;
        }

        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out iterations) || iterations < MinIterations)
        {
            error = $"the iteration count must be a number of at least {MinIterations}";
            return false;
        }

        try
        {
            salt = Convert.FromBase64String(parts[2]);
            hash = Convert.FromBase64String(parts[3]);
        }
        catch (FormatException)
        {
            error = "the salt and the hash must be base64";
            return false;
        }

        if (salt.Length < 8 || hash.Length < 16)
        {
            error = "the salt (at least 8 bytes) or the hash (at least 16 bytes) is too short";
            return false;
        }

        error = "";
        return true;
    }
}
