using Npgsql;

namespace Attach.Broker.Tests.Persistence;

/// <summary>
/// The real PostgreSQL the store tests run against: the connection string in <c>ATTACH_TEST_POSTGRES</c> (which
/// <c>make test</c> passes after eng/start-postgres.sh started a cluster), else the one that script wrote to
/// <c>.attach/test-postgres</c> in the repository. Its user owns the database; each test makes its own schema.
/// </summary>
internal static class TestPostgres
{
    public const string Variable = "ATTACH_TEST_POSTGRES";

    private static readonly Lazy<string?> Found = new(Find);
    private static readonly Lazy<string?> Unavailable = new(Probe);

    /// <summary>The connection string, or null when none is configured.</summary>
    public static string? ConnectionString => Found.Value;

    /// <summary>Why PostgreSQL cannot be used, or null when it answers.</summary>
    public static string? UnavailableReason => Unavailable.Value;

    /// <summary>CI must run these tests: a missing server fails them there instead of skipping them.</summary>
    public static bool InCi => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"));

    /// <summary>The connection string; fails the test, with the reason and the fix, when PostgreSQL is missing.</summary>
    public static string Require()
    {
        if (UnavailableReason is { } reason)
        {
            Assert.Fail($"{reason} CI is set, so the PostgreSQL store tests run and fail instead of being skipped.");
        }

        return ConnectionString!;
    }

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } configured)
        {
            return configured;
        }

        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var file = Path.Combine(folder.FullName, ".attach", "test-postgres");
            if (File.Exists(file) && File.ReadAllText(file).Trim() is { Length: > 0 } written)
            {
                return written;
            }
        }

        return null;
    }

    private static string? Probe()
    {
        if (ConnectionString is not { } connectionString)
        {
            return $"No PostgreSQL for the store tests: {Variable} is not set. Start one as root with: bash eng/start-postgres.sh (make test does).";
        }

        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString) { Timeout = 5 };
            using var connection = new NpgsqlConnection(builder.ConnectionString);
            connection.Open();
            return null;
        }
        catch (Exception ex) when (ex is NpgsqlException or ArgumentException or TimeoutException)
        {
            return $"No PostgreSQL for the store tests: the server {Variable} names does not answer ({ex.Message}). Start one as root with: bash eng/start-postgres.sh.";
        }
    }
}
