using System.Globalization;
using Attach.Broker.Pool;
using Attach.Contracts.Pool;
using Microsoft.Data.Sqlite;

namespace Attach.Broker.Persistence;

/// <summary>
/// The embedded store: one SQLite file in WAL mode, one connection kept open, every write its own transaction.
/// Writes run under the caller's lock (the lease table's), which is acceptable here: a WAL commit without a
/// checkpoint is an append to one file, tens of microseconds, and the lock already serialises placement.
/// <c>synchronous=NORMAL</c> keeps every commit across a killed process; a power cut may lose the last few, which
/// the agents' ledgers then restore through reconciliation.
/// </summary>
internal sealed class SqliteLeaseStore : ILeaseStore, IDisposable
{
    private readonly Lock _lock = new();
    private readonly SqliteConnection _connection;

    private SqliteLeaseStore(SqliteConnection connection, string path)
    {
        _connection = connection;
        Description = $"SQLite {path}";
    }

    public string Description { get; }

    /// <summary>The schema version the file had before this broker opened it (0: a new file).</summary>
    public int OpenedAtVersion { get; private set; }

    /// <summary>Opens (creating it and its folder when missing) and migrates the database at <paramref name="path"/>.</summary>
    public static SqliteLeaseStore Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        path = Path.GetFullPath(path);
        if (Path.GetDirectoryName(path) is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
        }

        // No pooling: the file is closed when the store is disposed, and nothing else shares the connection.
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString());
        try
        {
            connection.Open();
            foreach (var pragma in (string[])["PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL", "PRAGMA busy_timeout = 5000"])
            {
                using var command = connection.CreateCommand();
                command.CommandText = pragma;
                command.ExecuteNonQuery();
            }

            var store = new SqliteLeaseStore(connection, path);
            store.OpenedAtVersion = SqliteMigrations.Apply(connection, store.Description);
            return store;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public StoredBrokerState Load()
    {
        lock (_lock)
        {
            var leases = new List<Lease>();
            using (var command = _connection.CreateCommand())
            {
                command.CommandText =
                    "SELECT lease_id, epoch, kernel_id, owner, node_id, agent_url, gpu_index, gpu_uuid, gpu_model, gpu_memory_total_mib, " +
                    "gpu_simulated, memory_mib, compute_percent, status, since FROM leases ORDER BY epoch";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    leases.Add(new Lease
                    {
                        LeaseId = reader.GetString(0),
                        Epoch = reader.GetInt64(1),
                        KernelId = reader.GetString(2),
                        Owner = reader.GetString(3),
                        NodeId = reader.GetString(4),
                        AgentUrl = new Uri(reader.GetString(5), UriKind.Absolute),
                        Gpu = new GpuInfo(reader.GetInt32(6), reader.GetString(7), reader.GetString(8), reader.GetInt64(9), reader.GetInt64(10) != 0),
                        MemoryMiB = reader.GetInt64(11),
                        ComputePercent = reader.GetInt32(12),
                        Status = Enum.Parse<LeaseStatus>(reader.GetString(13)),
                        Since = DateTimeOffset.Parse(reader.GetString(14), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
                    });
                }
            }

            long epoch;
            using (var command = _connection.CreateCommand())
            {
                command.CommandText = "SELECT value FROM epoch_counter WHERE id = 1";
                epoch = Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
            }

            var kernels = new List<StoredKernel>();
            using (var command = _connection.CreateCommand())
            {
                command.CommandText = "SELECT kernel_id, owner FROM kernels ORDER BY kernel_id";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    kernels.Add(new StoredKernel(reader.GetString(0), reader.GetString(1)));
                }
            }

            return new StoredBrokerState(leases, epoch, kernels);
        }
    }

    public void AddLease(Lease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        lock (_lock)
        {
            using var transaction = _connection.BeginTransaction();
            using (var insert = _connection.CreateCommand())
            {
                insert.Transaction = transaction;
                insert.CommandText =
                    "INSERT OR REPLACE INTO leases (lease_id, epoch, kernel_id, owner, node_id, agent_url, gpu_index, gpu_uuid, gpu_model, " +
                    "gpu_memory_total_mib, gpu_simulated, memory_mib, compute_percent, status, since) VALUES ($id, $epoch, $kernel, $owner, " +
                    "$node, $agent, $gpuIndex, $gpuUuid, $gpuModel, $gpuMemory, $gpuSimulated, $memory, $compute, $status, $since)";
                var p = insert.Parameters;
                p.AddWithValue("$id", lease.LeaseId);
                p.AddWithValue("$epoch", lease.Epoch);
                p.AddWithValue("$kernel", lease.KernelId);
                p.AddWithValue("$owner", lease.Owner);
                p.AddWithValue("$node", lease.NodeId);
                p.AddWithValue("$agent", lease.AgentUrl.OriginalString);
                p.AddWithValue("$gpuIndex", lease.Gpu.Index);
                p.AddWithValue("$gpuUuid", lease.Gpu.Uuid);
                p.AddWithValue("$gpuModel", lease.Gpu.Model);
                p.AddWithValue("$gpuMemory", lease.Gpu.MemoryTotalMiB);
                p.AddWithValue("$gpuSimulated", lease.Gpu.Simulated ? 1 : 0);
                p.AddWithValue("$memory", lease.MemoryMiB);
                p.AddWithValue("$compute", lease.ComputePercent);
                p.AddWithValue("$status", lease.Status.ToString());
                p.AddWithValue("$since", lease.Since.ToString("O", CultureInfo.InvariantCulture));
                insert.ExecuteNonQuery();
            }

            using (var raise = _connection.CreateCommand())
            {
                raise.Transaction = transaction;
                raise.CommandText = "UPDATE epoch_counter SET value = MAX(value, $epoch) WHERE id = 1";
                raise.Parameters.AddWithValue("$epoch", lease.Epoch);
                raise.ExecuteNonQuery();
            }

            transaction.Commit();
        }
    }

    public void SetLeaseStatus(string leaseId, LeaseStatus status) =>
        Execute("UPDATE leases SET status = $status WHERE lease_id = $id", ("$id", leaseId), ("$status", status.ToString()));

    public void RemoveLease(string leaseId) => Execute("DELETE FROM leases WHERE lease_id = $id", ("$id", leaseId));

    public void AddKernel(string kernelId, string owner) =>
        Execute("INSERT OR REPLACE INTO kernels (kernel_id, owner) VALUES ($id, $owner)", ("$id", kernelId), ("$owner", owner));

    public void RemoveKernel(string kernelId) => Execute("DELETE FROM kernels WHERE kernel_id = $id", ("$id", kernelId));

    public void Dispose()
    {
        lock (_lock)
        {
            _connection.Dispose();
        }
    }

    private void Execute(string sql, params (string Name, object Value)[] parameters)
    {
        lock (_lock)
        {
            using var command = _connection.CreateCommand();
            command.CommandText = sql;
            foreach (var (name, value) in parameters)
            {
                command.Parameters.AddWithValue(name, value);
            }

            command.ExecuteNonQuery();
        }
    }
}
