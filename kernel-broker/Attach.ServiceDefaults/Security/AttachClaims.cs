namespace Attach.ServiceDefaults.Security;

/// <summary>Claim types and values the Attach services use.</summary>
public static class AttachClaims
{
    /// <summary>Present on principals that authenticated with the internal key.</summary>
    public const string Service = "attach:service";

    /// <summary>The user name of a service acting for nobody in particular.</summary>
    public const string ServiceUser = "attach-service";
}
