namespace Attach.Agent.Gpu;

/// <summary><c>nvidia-smi</c> could not give an answer; the message says why, in words an operator can act on.</summary>
internal sealed class NvidiaSmiException : Exception
{
    public NvidiaSmiException()
    {
    }

    public NvidiaSmiException(string message)
        : base(message)
    {
    }

    public NvidiaSmiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
