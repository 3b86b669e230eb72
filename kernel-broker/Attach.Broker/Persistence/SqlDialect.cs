using System.Data.Common;

namespace Attach.Broker.Persistence;

/// <summary>
/// What differs between the SQL databases the broker stores its state in. Everything else (the migrations in
/// <see cref="StoreMigrations"/>, every query in <see cref="SqlLeaseStore"/>) is written once, in SQL both accept.
/// </summary>
internal abstract class SqlDialect
{
    /// <summary>The product, for messages: "SQLite", "PostgreSQL".</summary>
    public abstract string Name { get; }

    /// <summary>The setting that points the broker at the database, named in errors that say what to do.</summary>
    public abstract string LocationSetting { get; }

    /// <summary>The column type of a 64-bit integer (SQLite has one integer type; PostgreSQL's <c>integer</c> is 32 bits).</summary>
    public abstract string BigInt { get; }

    /// <summary>An SQL expression for the current UTC time as ISO 8601 text (when a migration was applied).</summary>
    public abstract string UtcNowText { get; }

    /// <summary>
    /// Begins the transaction the migrations run in, holding whatever lock makes a second broker that opens the
    /// same database at the same moment wait until the first has migrated it.
    /// </summary>
    public abstract DbTransaction BeginMigration(DbConnection connection);
}
