using System.Security.Cryptography;

namespace Attach.Gateway.Users;

/// <summary>
/// <c>dotnet Attach.Gateway.dll hash-token</c>: prints the <c>tokenHash</c> for a users-file entry. The token
/// is read from standard input (never from the command line, where it would land in the shell history and
/// in <c>ps</c>); with nothing on standard input a new random token is made and printed too.
/// </summary>
internal static class HashTokenCommand
{
    public const string Name = "hash-token";

    /// <summary>Runs the command if <paramref name="args"/> asks for it; false lets the gateway start as usual. <paramref name="input"/> is null when stdin is a terminal.</summary>
    public static bool TryRun(string[] args, TextReader? input, TextWriter output, TextWriter error, out int exitCode)
    {
        exitCode = 0;
        if (args is not [Name, ..])
        {
            return false;
        }

        var token = input?.ReadLine()?.Trim();
        if (string.IsNullOrEmpty(token))
        {
            token = Base64Url(RandomNumberGenerator.GetBytes(32));
            output.WriteLine($"token: {token}");
        }
        else if (token.Length < 32)
        {
            error.WriteLine("attach: a token must be at least 32 characters; give none to have a random one made.");
            exitCode = 2;
            return true;
        }

        output.WriteLine($"tokenHash: {TokenHash.Create(token)}");
        return true;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
