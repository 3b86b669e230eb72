using System.Text.RegularExpressions;
using Microsoft.AspNetCore.SignalR;

namespace Attach.Broker.Kernels;

/// <summary>What a kernel id may look like (Jupyter uses UUIDs; other servers use similar tokens).</summary>
internal static partial class KernelIds
{
    public static bool IsValid(string? kernelId) => kernelId is not null && Pattern().IsMatch(kernelId);

    public static void ThrowIfInvalid(string? kernelId)
    {
        if (!IsValid(kernelId))
        {
            throw new HubException("invalid kernel id: use the id Jupyter gave the kernel (letters, digits, '-', '_' or '.', at most 128)");
        }
    }

    [GeneratedRegex(@"\A[A-Za-z0-9._-]{1,128}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
