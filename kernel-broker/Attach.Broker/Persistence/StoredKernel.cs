using Attach.Contracts.Kernels;

namespace Attach.Broker.Persistence;

/// <summary>A kernel the broker knows, the user who first used it, and the slice they chose for its next attach.</summary>
/// <param name="KernelId">The id Jupyter gave the kernel.</param>
/// <param name="Owner">The user it belongs to.</param>
/// <param name="Preference">What <c>PUT …/slice-preference</c> last set; null for the default slice.</param>
internal sealed record StoredKernel(string KernelId, string Owner, SlicePreference? Preference = null);
