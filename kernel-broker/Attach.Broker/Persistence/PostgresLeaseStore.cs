using System.Data.Common;
using Npgsql;

namespace Attach.Broker.Persistence;

/// <summary>
/// The production store (<c>Broker:Store:Kind=Postgres</c>): the same schema and the same write-through SQL as
/// SQLite (<see cref="SqlLeaseStore"/>), over Npgsql's connection pool. Each write takes a pooled connection and
/// commits before returning (PostgreSQL's default <c>synchronous_commit=on</c>: durable on the server's disk), so
/// a broker killed at any point leaves nothing half-written and a restarted one reads back every lease. A dropped
/// connection is replaced by the pool on the next write; a write that fails throws, and the caller's change does
/// not become visible, exactly as with SQLite. Each write is a round trip made under the lease table's lock, so
/// placement decisions are bounded by the server's commit latency. Several brokers may share the database: one leads
/// (Leadership/), and its store runs every statement on the session that holds the leader lock
/// (<see cref="ILeaderConnection"/>), so a broker that lost that session can no longer write.
/// </summary>
internal sealed class PostgresLeaseStore : SqlLeaseStore, IDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly ILeaderConnection? _leader;

    private PostgresLeaseStore(NpgsqlDataSource dataSource, string description, ILeaderConnection? leader)
        : base(description)
    {
        _dataSource = dataSource;
        _leader = leader;
    }

    /// <summary>
    /// Connects with <paramref name="connectionString"/> and migrates the schema. Fails with a message that names
    /// <c>Broker:Store:ConnectionString</c> and the server (never the password) when the database cannot be reached.
    /// With <paramref name="leader"/>, every read and write after the migration runs on the leader's session.
    /// </summary>
    public static PostgresLeaseStore Open(string connectionString, ILeaderConnection? leader = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        var dialect = PostgresDialect.Instance;
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            // The parser's message may quote the string, password included: say what is wrong without it.
            throw new InvalidOperationException(
                $"{dialect.LocationSetting} is not a PostgreSQL connection string Npgsql can read ({ex.GetType().Name}). " +
                "Write it as Host=…;Port=5432;Database=…;Username=…;Password=… (environment: Broker__Store__ConnectionString).");
        }

        builder.ApplicationName ??= "attach-broker";
        var description = Describe(builder);
        var dataSource = NpgsqlDataSource.Create(builder);
        try
        {
            NpgsqlConnection connection;
            try
            {
                connection = dataSource.OpenConnection();
            }
            catch (NpgsqlException ex)
            {
                throw new InvalidOperationException(
                    $"The broker cannot reach its store, {description} ({dialect.LocationSetting}): {ex.Message}. " +
                    $"Check that PostgreSQL runs there and accepts this user and database, or correct {dialect.LocationSetting} " +
                    "(environment: Broker__Store__ConnectionString).",
                    ex);
            }

            using (connection)
            {
                int version;
                try
                {
                    version = StoreMigrations.Apply(connection, dialect, description);
                }
                catch (NpgsqlException ex)
                {
                    throw new InvalidOperationException(
                        $"The broker reached {description} but could not set up its tables there: {ex.Message}. " +
                        "Give the user the right to create tables in the database (or its search_path schema), or point " +
                        $"{dialect.LocationSetting} at a database it owns.",
                        ex);
                }

                return new PostgresLeaseStore(dataSource, description, leader) { OpenedAtVersion = version };
            }
        }
        catch
        {
            dataSource.Dispose();
            throw;
        }
    }

    /// <summary>"PostgreSQL host:port/database (user …)": what logs and errors may show; the password never.</summary>
    public static string Describe(NpgsqlConnectionStringBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var schema = string.IsNullOrEmpty(builder.SearchPath) ? "" : $", schema {builder.SearchPath}";
        return $"PostgreSQL {builder.Host}:{builder.Port}/{builder.Database ?? builder.Username} (user {builder.Username}{schema})";
    }

    public void Dispose() => _dataSource.Dispose();

    protected override T Use<T>(Func<DbConnection, T> work)
    {
        if (_leader is not null)
        {
            return _leader.Run(work);
        }

        using var connection = _dataSource.OpenConnection();
        return work(connection);
    }
}
