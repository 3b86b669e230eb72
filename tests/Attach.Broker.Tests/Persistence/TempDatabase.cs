namespace Attach.Broker.Tests.Persistence;

/// <summary>A broker database file in a folder of its own, deleted with it.</summary>
internal sealed class TempDatabase : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("attach-broker-db-").FullName;

    public string Path => System.IO.Path.Combine(_folder, "state", "broker.db");

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
