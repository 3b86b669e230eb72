using Attach.Broker.Persistence;

namespace Attach.Broker.Tests.Persistence;

/// <summary><see cref="StoreMigrationsTests"/> over a SQLite file, and what only a file has.</summary>
public sealed class SqliteStoreMigrationsTests : StoreMigrationsTests
{
    /// <summary>Version 1 exactly as the first broker (SQLite only, before the migrations were shared) wrote it.</summary>
    private const string FirstBrokersSchema = """
        CREATE TABLE schema_version (version INTEGER NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL);
        CREATE TABLE leases (
            lease_id TEXT NOT NULL PRIMARY KEY,
            epoch INTEGER NOT NULL,
            kernel_id TEXT NOT NULL,
            owner TEXT NOT NULL,
            node_id TEXT NOT NULL,
            agent_url TEXT NOT NULL,
            gpu_index INTEGER NOT NULL,
            gpu_uuid TEXT NOT NULL,
            gpu_model TEXT NOT NULL,
            gpu_memory_total_mib INTEGER NOT NULL,
            gpu_simulated INTEGER NOT NULL,
            memory_mib INTEGER NOT NULL,
            compute_percent INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('Binding', 'Bound', 'Releasing')),
            since TEXT NOT NULL
        );
        CREATE INDEX leases_by_node ON leases (node_id);
        CREATE TABLE epoch_counter (
            id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
            value INTEGER NOT NULL
        );
        INSERT INTO epoch_counter (id, value) VALUES (1, 12);
        CREATE TABLE kernels (
            kernel_id TEXT NOT NULL PRIMARY KEY,
            owner TEXT NOT NULL
        );
        INSERT INTO schema_version (version, applied_at) VALUES (1, '2026-11-01T09:00:00.000Z');
        INSERT INTO leases VALUES ('lease-old', 12, 'kernel-1', 'ada', 'node-a', 'http://node-a:7070/', 0, 'SIM-00-80', 'A100 80GB', 81920, 1, 20480, 25, 'Bound', '2026-11-01T09:00:00.0000000+00:00');
        INSERT INTO kernels VALUES ('kernel-1', 'ada');
        """;

    private readonly SqliteTestStore _file;

    public SqliteStoreMigrationsTests()
        : this(new SqliteTestStore())
    {
    }

    private SqliteStoreMigrationsTests(SqliteTestStore file)
        : base(file)
    {
        _file = file;
    }

    [Fact]
    public void Open_NewFile_CreatesItsFolder()
    {
        Assert.False(Directory.Exists(Path.GetDirectoryName(_file.Path)));

        _file.Open();

        Assert.True(File.Exists(_file.Path));
    }

    [Fact]
    public void Open_FileTheFirstBrokerWrote_IsReadAsVersion1WithItsLeasesKernelsAndEpoch()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_file.Path)!);
        _file.Execute(FirstBrokersSchema);

        var store = _file.Open();
        var state = store.Load();

        Assert.Equal(1, store.OpenedAtVersion);
        var lease = Assert.Single(state.Leases);
        Assert.Equal(("lease-old", 12L, "ada", 20480L, true, Broker.Pool.LeaseStatus.Bound), (lease.LeaseId, lease.Epoch, lease.Owner, lease.MemoryMiB, lease.Gpu.Simulated, lease.Status));
        Assert.Null(lease.MigUuid); // migration 5 adds the column; a lease from before it was on no MIG instance the broker knew
        Assert.Equal(12, state.Epoch);
        Assert.Equal(new StoredKernel("kernel-1", "ada"), Assert.Single(state.Kernels));
    }
}
