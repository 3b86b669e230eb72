namespace Attach.Contracts.Http;

/// <summary>Headers the Attach services use between themselves.</summary>
public static class AttachHeaders
{
    /// <summary>The authenticated user, set by the gateway on requests it forwards to the broker.</summary>
    public const string User = "X-Attach-User";
}
