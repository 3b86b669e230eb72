namespace Attach.Broker.Persistence;

/// <summary>Which <see cref="ILeaseStore"/> the broker uses.</summary>
internal enum StoreKind
{
    /// <summary>A SQLite file: the embedded default, one broker.</summary>
    Sqlite,

    /// <summary>Nothing survives a restart; the agents' heartbeats are the only way back (tests, demos).</summary>
    Memory,

    /// <summary>A PostgreSQL database (<c>Broker:Store:ConnectionString</c>): the production store.</summary>
    Postgres,
}
