namespace Attach.Agent.Shim;

/// <summary>A client broke the shim protocol; the agent answers with <see cref="Code"/> and closes the connection.</summary>
internal sealed class ShimProtocolException : Exception
{
    public ShimProtocolException()
        : this(ShimErrorCodes.Internal, "The shim protocol was broken.")
    {
    }

    public ShimProtocolException(string message)
        : this(ShimErrorCodes.Internal, message)
    {
    }

    public ShimProtocolException(string message, Exception innerException)
        : base(message, innerException) => Code = ShimErrorCodes.Internal;

    public ShimProtocolException(string code, string message)
        : base(message) => Code = code;

    /// <summary>One of <see cref="ShimErrorCodes"/>.</summary>
    public string Code { get; }
}
