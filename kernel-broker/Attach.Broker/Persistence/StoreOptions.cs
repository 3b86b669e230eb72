using System.ComponentModel.DataAnnotations;

namespace Attach.Broker.Persistence;

/// <summary>Where the broker keeps its state (section <c>Broker:Store</c>).</summary>
internal sealed class StoreOptions
{
    public const string Section = "Broker:Store";

    public StoreKind Kind { get; set; } = StoreKind.Sqlite;

    /// <summary>The SQLite file; a relative path is resolved against the content root. Its folder is created.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Path { get; set; } = ".attach/broker.db";
}
