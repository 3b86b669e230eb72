using System.Data.Common;
using System.Globalization;
using Attach.Broker.Pool;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;

namespace Attach.Broker.Persistence;

/// <summary>
/// The write-through store over SQL, written once for every database: each write is its own transaction and is
/// committed before the method returns, so what <see cref="LeaseTable"/> and <see cref="Kernels.KernelRegistry"/> make
/// visible is already durable. The SQL here is what SQLite and PostgreSQL both accept (named <c>@</c> parameters,
/// <c>INSERT … ON CONFLICT … DO UPDATE</c>); the differences live in <see cref="SqlDialect"/> and in how each
/// subclass holds its connection.
/// </summary>
internal abstract partial class SqlLeaseStore : ILeaseStore
{
    private const string LeaseColumns =
        "lease_id, epoch, kernel_id, owner, node_id, agent_url, gpu_index, gpu_uuid, gpu_model, gpu_memory_total_mib, " +
        "gpu_simulated, memory_mib, compute_percent, status, since, mig_uuid";

    protected SqlLeaseStore(string description)
    {
        Description = description;
    }

    public string Description { get; }

    /// <summary>The schema version the database had before this broker opened it (0: a new database).</summary>
    public int OpenedAtVersion { get; protected set; }

    public StoredBrokerState Load() => Use(connection =>
    {
        var leases = new List<Lease>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = $"SELECT {LeaseColumns} FROM leases ORDER BY epoch";
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
                    Gpu = new GpuInfo(reader.GetInt32(6), reader.GetString(7), reader.GetString(8), reader.GetInt64(9), reader.GetInt32(10) != 0),
                    MemoryMiB = reader.GetInt64(11),
                    ComputePercent = reader.GetInt32(12),
                    Status = Enum.Parse<LeaseStatus>(reader.GetString(13)),
                    Since = DateTimeOffset.Parse(reader.GetString(14), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
                    MigUuid = reader.IsDBNull(15) ? null : reader.GetString(15),
                });
            }
        }

        long epoch;
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT value FROM epoch_counter WHERE id = 1";
            epoch = Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        var kernels = new List<StoredKernel>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT kernel_id, owner, slice_profile, slice_memory_mib FROM kernels ORDER BY kernel_id";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var profile = reader.IsDBNull(2) ? null : reader.GetString(2);
                long? memory = reader.IsDBNull(3) ? null : reader.GetInt64(3);
                var preference = profile is null && memory is null ? null : new SlicePreference(profile, memory);
                kernels.Add(new StoredKernel(reader.GetString(0), reader.GetString(1), preference));
            }
        }

        return new StoredBrokerState(leases, epoch, kernels);
    });

    public void AddLease(Lease lease)
    {
        ArgumentNullException.ThrowIfNull(lease);
        Use(connection =>
        {
            using var transaction = connection.BeginTransaction();
            using (var upsert = connection.CreateCommand())
            {
                upsert.Transaction = transaction;
                upsert.CommandText =
                    $"INSERT INTO leases ({LeaseColumns}) VALUES (@id, @epoch, @kernel, @owner, @node, @agent, @gpuIndex, @gpuUuid, @gpuModel, " +
                    "@gpuMemory, @gpuSimulated, @memory, @compute, @status, @since, @migUuid) ON CONFLICT (lease_id) DO UPDATE SET epoch = excluded.epoch, " +
                    "kernel_id = excluded.kernel_id, owner = excluded.owner, node_id = excluded.node_id, agent_url = excluded.agent_url, " +
                    "gpu_index = excluded.gpu_index, gpu_uuid = excluded.gpu_uuid, gpu_model = excluded.gpu_model, " +
                    "gpu_memory_total_mib = excluded.gpu_memory_total_mib, gpu_simulated = excluded.gpu_simulated, memory_mib = excluded.memory_mib, " +
                    "compute_percent = excluded.compute_percent, status = excluded.status, since = excluded.since, mig_uuid = excluded.mig_uuid";
                AddParameter(upsert, "@id", lease.LeaseId);
                AddParameter(upsert, "@epoch", lease.Epoch);
                AddParameter(upsert, "@kernel", lease.KernelId);
                AddParameter(upsert, "@owner", lease.Owner);
                AddParameter(upsert, "@node", lease.NodeId);
                AddParameter(upsert, "@agent", lease.AgentUrl.OriginalString);
                AddParameter(upsert, "@gpuIndex", lease.Gpu.Index);
                AddParameter(upsert, "@gpuUuid", lease.Gpu.Uuid);
                AddParameter(upsert, "@gpuModel", lease.Gpu.Model);
                AddParameter(upsert, "@gpuMemory", lease.Gpu.MemoryTotalMiB);
                AddParameter(upsert, "@gpuSimulated", lease.Gpu.Simulated ? 1 : 0);
                AddParameter(upsert, "@memory", lease.MemoryMiB);
                AddParameter(upsert, "@compute", lease.ComputePercent);
                AddParameter(upsert, "@status", lease.Status.ToString());
                AddParameter(upsert, "@since", lease.Since.ToString("O", CultureInfo.InvariantCulture));
                AddParameter(upsert, "@migUuid", (object?)lease.MigUuid ?? DBNull.Value);
                upsert.ExecuteNonQuery();
            }

            using (var raise = connection.CreateCommand())
            {
                // Only ever up: an adopted lease with an old epoch never lowers the counter.
                raise.Transaction = transaction;
                raise.CommandText = "UPDATE epoch_counter SET value = @epoch WHERE id = 1 AND value < @epoch";
                AddParameter(raise, "@epoch", lease.Epoch);
                raise.ExecuteNonQuery();
            }

            transaction.Commit();
            return 0;
        });
    }

    public void SetLeaseStatus(string leaseId, LeaseStatus status) =>
        Execute("UPDATE leases SET status = @status WHERE lease_id = @id", ("@id", leaseId), ("@status", status.ToString()));

    public void RemoveLease(string leaseId) => Execute("DELETE FROM leases WHERE lease_id = @id", ("@id", leaseId));

    public void AddKernel(string kernelId, string owner) =>
        Execute(
            "INSERT INTO kernels (kernel_id, owner) VALUES (@id, @owner) ON CONFLICT (kernel_id) DO UPDATE SET owner = excluded.owner",
            ("@id", kernelId),
            ("@owner", owner));

    public void RemoveKernel(string kernelId) => Execute("DELETE FROM kernels WHERE kernel_id = @id", ("@id", kernelId));

    public void SetSlicePreference(string kernelId, SlicePreference? preference)
    {
        var updated = Execute(
            "UPDATE kernels SET slice_profile = @profile, slice_memory_mib = @memory WHERE kernel_id = @id",
            ("@id", kernelId),
            ("@profile", (object?)preference?.Profile ?? DBNull.Value),
            ("@memory", (object?)preference?.MemoryMiB ?? DBNull.Value));
        if (updated == 0)
        {
            // The registry adds every kernel before anyone can set its preference: a missing row is a bug, not input.
            throw new InvalidOperationException($"Kernel {kernelId} is not in the store {Description}; it must be added before its slice preference is set.");
        }
    }

    internal static void AddParameter(DbCommand command, string name, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }

    /// <summary>Runs <paramref name="work"/> on an open connection that nothing else uses meanwhile.</summary>
    protected abstract T Use<T>(Func<DbConnection, T> work);

    private int Execute(string sql, params (string Name, object Value)[] parameters) => Use(connection =>
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            AddParameter(command, name, value);
        }

        return command.ExecuteNonQuery();
    });
}
