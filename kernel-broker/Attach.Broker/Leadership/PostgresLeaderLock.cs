using System.Data;
using System.Data.Common;
using System.Globalization;
using Attach.Broker.Persistence;
using Npgsql;

namespace Attach.Broker.Leadership;

/// <summary>
/// The leader lock of brokers sharing one PostgreSQL: a session-level advisory lock, held by one dedicated connection
/// for as long as that session lives. PostgreSQL releases it when the session ends (the broker stopped, was killed, or
/// its connection died), and another broker's next <see cref="TryAcquire"/> gets it. The lock is per database and
/// schema (its second key is a hash of <c>current_schema()</c>), so brokers of different Attach installations can share
/// a server. The session that holds it is also the only one the leader's store uses (<see cref="ILeaderConnection"/>):
/// once it is gone, every write fails instead of racing the new leader.
/// </summary>
internal sealed class PostgresLeaderLock : ILeaderConnection, IDisposable
{
    /// <summary>The advisory lock's first key: "attL" in ASCII (the migration lock is a different, one-key lock).</summary>
    private const int LockClass = 0x6174_744C;

    private readonly Lock _lock = new();
    private readonly string _connectionString;
    private readonly string _brokerId;
    private NpgsqlConnection? _connection;
    private bool _held;
    private bool _disposed;

    public PostgresLeaderLock(string connectionString, string brokerId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        _brokerId = brokerId;
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            // Its own physical session: a pooled connection would outlive Close and keep the lock.
            Pooling = false,
            ApplicationName = Truncate($"attach-broker-leader:{brokerId}", 63),
        };
        _connectionString = builder.ConnectionString;
        Description = PostgresLeaseStore.Describe(builder);
    }

    /// <summary>Called, outside any lock, with the reason when a held lock's session is found dead.</summary>
    public Action<string>? Lost { get; set; }

    /// <summary>The server, for logs (never the password).</summary>
    public string Description { get; }

    /// <summary>True while this broker holds the lock on a session it believes alive.</summary>
    public bool Held
    {
        get
        {
            lock (_lock)
            {
                return _held;
            }
        }
    }

    /// <summary>
    /// Tries once, without waiting, to take the lock. When it gets it, writes itself into the leader row with the next
    /// term and returns that row; null when another broker holds the lock. Throws on database errors.
    /// </summary>
    public LeaderRecord? TryAcquire(string? url, DateTimeOffset now)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_held)
            {
                throw new InvalidOperationException("The leader lock is held already.");
            }

            try
            {
                var connection = Connection_NeedsLock();
                using (var take = connection.CreateCommand())
                {
                    take.CommandText = "SELECT pg_try_advisory_lock(@class, hashtext(current_schema()))";
                    take.Parameters.AddWithValue("class", LockClass);
                    if (take.ExecuteScalar() is not true)
                    {
                        return null;
                    }
                }

                _held = true;
                using var transaction = connection.BeginTransaction();
                using var claim = connection.CreateCommand();
                claim.Transaction = transaction;
                claim.CommandText =
                    "INSERT INTO broker_leader (id, term, broker_id, broker_url, since) VALUES (1, 1, @id, @url, @since) " +
                    "ON CONFLICT (id) DO UPDATE SET term = broker_leader.term + 1, broker_id = excluded.broker_id, " +
                    "broker_url = excluded.broker_url, since = excluded.since RETURNING term";
                claim.Parameters.AddWithValue("id", _brokerId);
                claim.Parameters.AddWithValue("url", (object?)url ?? DBNull.Value);
                claim.Parameters.AddWithValue("since", now.ToString("O", CultureInfo.InvariantCulture));
                var term = Convert.ToInt64(claim.ExecuteScalar(), CultureInfo.InvariantCulture);
                transaction.Commit();
                return new LeaderRecord(_brokerId, url, term, now);
            }
            catch
            {
                // Whatever happened, this session's lock (if any) must not linger half-claimed: close it.
                Drop_NeedsLock();
                throw;
            }
        }
    }

    /// <summary>The leader row as the store holds it (null: no broker ever led), read without the lock.</summary>
    public LeaderRecord? ReadLeader()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_connection is { State: ConnectionState.Open } open)
            {
                return Read(open);
            }
        }

        // A deposed broker's session is gone; reading who leads now needs no lock.
        using var connection = new NpgsqlConnection(_connectionString);
        connection.Open();
        return Read(connection);
    }

    /// <summary>Checks that the session holding the lock is alive; reports it <see cref="Lost"/> (and throws) when not.</summary>
    public void Ping(TimeSpan timeout) => Run(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1";
        command.CommandTimeout = Math.Max(1, (int)Math.Ceiling(timeout.TotalSeconds));
        return command.ExecuteScalar();
    });

    public T Run<T>(Func<DbConnection, T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        string? lost = null;
        try
        {
            lock (_lock)
            {
                if (!_held || _connection is null)
                {
                    throw new NotLeaderException(
                        $"Broker {_brokerId} does not hold the leader lock on {Description}: it may not change the store. Nothing was changed.");
                }

                try
                {
                    return work(_connection);
                }
                catch (Exception ex) when ((ex is NpgsqlException or InvalidOperationException or TimeoutException) && !IsOpen(_connection))
                {
                    // The session is gone, and the lock with it: another broker may lead already. Never reconnect here.
                    lost = $"its database session ended ({ex.Message})";
                    Drop_NeedsLock();
                    throw new NotLeaderException(
                        $"Broker {_brokerId} lost its session with {Description}, and the leader lock with it: {ex.Message}. Nothing was changed.", ex);
                }
            }
        }
        finally
        {
            if (lost is not null)
            {
                Lost?.Invoke(lost);
            }
        }
    }

    /// <summary>Gives the lock up (closing the session), so a follower takes over at its next try.</summary>
    public void Release()
    {
        lock (_lock)
        {
            Drop_NeedsLock();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            Drop_NeedsLock();
        }
    }

    private static bool IsOpen(NpgsqlConnection connection) => connection.FullState == ConnectionState.Open;

    private static LeaderRecord? Read(NpgsqlConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT broker_id, broker_url, term, since FROM broker_leader WHERE id = 1";
        using var reader = command.ExecuteReader();
        return reader.Read()
            ? new LeaderRecord(
                reader.GetString(0),
                reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.GetInt64(2),
                DateTimeOffset.Parse(reader.GetString(3), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind))
            : null;
    }

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];

    private NpgsqlConnection Connection_NeedsLock()
    {
        if (_connection is { State: ConnectionState.Open } open)
        {
            return open;
        }

        _connection?.Dispose();
        _connection = new NpgsqlConnection(_connectionString);
        _connection.Open();
        // The server, too, should notice a leader that vanished without closing (a dead host), and free its lock.
        using var keepalive = _connection.CreateCommand();
        keepalive.CommandText = "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3";
        keepalive.ExecuteNonQuery();
        return _connection;
    }

    private void Drop_NeedsLock()
    {
        _held = false;
        _connection?.Dispose();
        _connection = null;
    }
}
