namespace Attach.Agent.Slices;

/// <summary>
/// The ledger on disk exists but cannot be read. The agent refuses to start: starting with no bindings could hand
/// a GPU that a process still uses to another kernel.
/// </summary>
internal sealed class LedgerCorruptException : Exception
{
    public LedgerCorruptException()
    {
    }

    public LedgerCorruptException(string message)
        : base(message)
    {
    }

    public LedgerCorruptException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
