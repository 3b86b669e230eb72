namespace Attach.ServiceDefaults.Security;

/// <summary>The internal-key authentication scheme's name.</summary>
public static class InternalKeyDefaults
{
    /// <summary>Scheme name.</summary>
    public const string Scheme = "InternalKey";
}
