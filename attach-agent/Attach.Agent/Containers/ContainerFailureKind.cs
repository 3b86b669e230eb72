namespace Attach.Agent.Containers;

/// <summary>Why a container operation did not happen.</summary>
internal enum ContainerFailureKind
{
    /// <summary>The request is invalid (a field, or an image the engine does not have).</summary>
    InvalidRequest,

    /// <summary>The lease is not bound on this node.</summary>
    LeaseNotFound,

    /// <summary>No container with that id belongs to this node.</summary>
    ContainerNotFound,

    /// <summary>Containers are switched off (<c>Agent:Containers:Enabled</c>).</summary>
    Disabled,

    /// <summary>The Docker engine does not answer (no socket, refused, timed out, or the circuit is open).</summary>
    DockerUnavailable,

    /// <summary>The engine answered with an error.</summary>
    DockerFailed,
}
