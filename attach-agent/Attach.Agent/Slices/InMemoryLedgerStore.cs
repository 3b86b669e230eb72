namespace Attach.Agent.Slices;

/// <summary>
/// A ledger store that lives only as long as the process: for tests and tools. Two ledgers over one instance
/// behave as two agent runs over one state directory.
/// </summary>
internal sealed class InMemoryLedgerStore : ILedgerStore
{
    private readonly Lock _lock = new();
    private LedgerDocument? _document;

    public string Location => "memory";

    /// <summary>How many times the state was saved.</summary>
    public int Saves { get; private set; }

    public LedgerDocument? Load()
    {
        lock (_lock)
        {
            return _document;
        }
    }

    public void Save(LedgerDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        lock (_lock)
        {
            _document = document;
            Saves++;
        }
    }
}
