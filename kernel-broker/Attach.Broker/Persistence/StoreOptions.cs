using System.ComponentModel.DataAnnotations;

namespace Attach.Broker.Persistence;

/// <summary>Where the broker keeps its state (section <c>Broker:Store</c>).</summary>
internal sealed class StoreOptions : IValidatableObject
{
    public const string Section = "Broker:Store";

    public StoreKind Kind { get; set; } = StoreKind.Sqlite;

    /// <summary>The SQLite file; a relative path is resolved against the content root. Its folder is created.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Path { get; set; } = ".attach/broker.db";

    /// <summary>
    /// The PostgreSQL database when <see cref="Kind"/> is <see cref="StoreKind.Postgres"/>, in Npgsql's form
    /// (<c>Host=…;Port=5432;Database=…;Username=…;Password=…</c>). Only its host, port, database and user are ever logged.
    /// </summary>
    public string? ConnectionString { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Kind == StoreKind.Postgres && string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return new ValidationResult(
                "Broker:Store:ConnectionString is required when Broker:Store:Kind is Postgres: set it (environment: " +
                "Broker__Store__ConnectionString) to Host=…;Port=5432;Database=…;Username=…;Password=….",
                [nameof(ConnectionString)]);
        }
    }

    /// <summary>
    /// Opens the store these options name; a relative SQLite path is resolved against <paramref name="contentRoot"/>.
    /// A PostgreSQL store shared by several brokers runs its statements on <paramref name="leader"/>'s session.
    /// </summary>
    public ILeaseStore Open(string contentRoot, ILeaderConnection? leader = null) => Kind switch
    {
        StoreKind.Memory => new InMemoryLeaseStore(),
        StoreKind.Postgres => PostgresLeaseStore.Open(ConnectionString!, leader),
        _ => SqliteLeaseStore.Open(System.IO.Path.GetFullPath(Path, contentRoot)),
    };
}
