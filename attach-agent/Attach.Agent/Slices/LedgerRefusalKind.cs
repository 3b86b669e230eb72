namespace Attach.Agent.Slices;

/// <summary>Why the ledger refused a bind or unbind.</summary>
internal enum LedgerRefusalKind
{
    /// <summary>A value is out of range or missing; the caller must fix its request.</summary>
    InvalidRequest,

    /// <summary>No GPU on this node has the requested index.</summary>
    UnknownGpu,

    /// <summary>The GPU has not enough unbound memory.</summary>
    InsufficientMemory,

    /// <summary>The GPU has not enough unbound compute share.</summary>
    InsufficientCompute,

    /// <summary>The request's epoch is lower than the one recorded for the lease (fencing).</summary>
    StaleEpoch,

    /// <summary>The lease is bound with other parameters at the same epoch, or on another GPU or kernel.</summary>
    LeaseConflict,

    /// <summary>The lease is not bound on this node.</summary>
    NotFound,
}
