namespace Attach.Agent.Slices;

/// <summary>Where the <see cref="SliceLedger"/> keeps its state so that it outlives the agent process.</summary>
internal interface ILedgerStore
{
    /// <summary>Where the state is kept, for people (a path, or "memory").</summary>
    string Location { get; }

    /// <summary>The state last saved, or null when nothing was ever saved.</summary>
    /// <exception cref="LedgerCorruptException">The state exists but cannot be read; nothing may be assumed about the bindings.</exception>
    LedgerDocument? Load();

    /// <summary>Replaces the saved state in one step: after a crash, either the old or the new state is found, never a mix.</summary>
    /// <exception cref="IOException">The state could not be written; the previous state is still in place.</exception>
    void Save(LedgerDocument document);
}
