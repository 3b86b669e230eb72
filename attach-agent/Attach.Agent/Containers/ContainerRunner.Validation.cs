using Attach.Agent.Slices;
using Attach.Contracts.Pool;

namespace Attach.Agent.Containers;

/// <summary>What a run request must satisfy before the engine sees it.</summary>
internal sealed partial class ContainerRunner
{
    /// <summary>Variables the agent sets from the binding; a caller may not set them.</summary>
    private static readonly HashSet<string> ReservedVariables = new(StringComparer.Ordinal)
    {
        SliceEnvironment.VisibleDevices,
        SliceEnvironment.MemoryLimit,
        SliceEnvironment.SmLimit,
        SliceEnvironment.LeaseId,
    };

    private static Dictionary<string, string[]> Validate(ContainerRunRequest request, BindingInfo? binding)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(request.LeaseId))
        {
            errors["leaseId"] = ["leaseId must not be empty; it names the bound lease the container runs under."];
        }
        else if (request.LeaseId.Length > SliceLedger.MaxLeaseIdLength)
        {
            errors["leaseId"] = [$"leaseId must be at most {SliceLedger.MaxLeaseIdLength} characters."];
        }

        if (string.IsNullOrWhiteSpace(request.Image))
        {
            errors["image"] = ["image must not be empty; name a local image, e.g. attach-test/busybox:1."];
        }

        if (request.Command is { } command && command.Any(argument => argument is null))
        {
            errors["command"] = ["command must not contain null; give the program and its arguments as strings."];
        }

        if (request.MemoryMiB is < MinMemoryMiB)
        {
            errors["memoryMiB"] = [$"memoryMiB must be at least {MinMemoryMiB} (the engine's minimum); it is {request.MemoryMiB}."];
        }

        var cpuCount = Environment.ProcessorCount;
        if (request.Cpus is { } cpus && (double.IsNaN(cpus) || cpus < MinCpus || cpus > cpuCount))
        {
            errors["cpus"] = [$"cpus must be between {MinCpus} and {cpuCount} (this node's CPUs); it is {cpus}."];
        }

        var environmentErrors = new List<string>();
        foreach (var (key, _) in request.Env ?? new Dictionary<string, string>())
        {
            if (string.IsNullOrEmpty(key) || key.Contains('=', StringComparison.Ordinal))
            {
                environmentErrors.Add($"env has the name '{key}'; a variable's name must not be empty or contain '='.");
            }
            else if (ReservedVariables.Contains(key) || binding?.Environment.ContainsKey(key) == true)
            {
                environmentErrors.Add($"env sets {key}, which the agent sets from the lease's binding; leave it out.");
            }
        }

        if (environmentErrors.Count > 0)
        {
            errors["env"] = [.. environmentErrors];
        }

        return errors;
    }
}
