namespace Attach.Broker.Persistence;

/// <summary>Which <see cref="ILeaseStore"/> the broker uses.</summary>
internal enum StoreKind
{
    /// <summary>A SQLite file: the embedded default, for one broker (it leads without an election; never run two on one file).</summary>
    Sqlite,

    /// <summary>Nothing survives a restart; the agents' heartbeats are the only way back (tests, demos).</summary>
    Memory,

    /// <summary>A PostgreSQL database (<c>Broker:Store:ConnectionString</c>): the production store, shared by brokers that elect one leader.</summary>
    Postgres,
}
