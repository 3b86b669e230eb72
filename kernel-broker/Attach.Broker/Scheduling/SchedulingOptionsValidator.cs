using Microsoft.Extensions.Options;

namespace Attach.Broker.Scheduling;

/// <summary>Checks what data annotations cannot: each slice profile gives exactly one size, and quotas are in range.</summary>
internal sealed class SchedulingOptionsValidator : IValidateOptions<SchedulingOptions>
{
    public ValidateOptionsResult Validate(string? name, SchedulingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        foreach (var (profile, slice) in options.Profiles)
        {
            if ((slice.GpuFraction is null) == (slice.MemoryMiB is null))
            {
                failures.Add($"Broker:Scheduling:Profiles:{profile} must set exactly one of GpuFraction (0-1] and MemoryMiB");
            }
            else if (slice.GpuFraction is { } fraction && fraction is not (> 0 and <= 1))
            {
                failures.Add($"Broker:Scheduling:Profiles:{profile}:GpuFraction must be above 0 and at most 1, not {fraction}");
            }
            else if (slice.ComputePercent is < 1 or > 100)
            {
                failures.Add($"Broker:Scheduling:Profiles:{profile}:ComputePercent must be 1-100");
            }
        }

        foreach (var (profile, idle) in options.Idle)
        {
            if (options.Profile(profile) is null)
            {
                failures.Add($"Broker:Scheduling:Idle:{profile} names no slice profile; use one of {string.Join(", ", options.ProfileNames())}");
            }
            else if (idle.IdleTimeout is { } timeout && timeout <= TimeSpan.Zero || idle.MinimumHold is { } hold && hold < TimeSpan.Zero)
            {
                failures.Add($"Broker:Scheduling:Idle:{profile} needs a positive IdleTimeout and a MinimumHold of zero or more");
            }
        }

        foreach (var (who, quota) in options.UserQuotas.Concat(options.GroupQuotas))
        {
            if (quota.MaxSlices is < 1 || quota.GpuHoursPerDay is < 0)
            {
                failures.Add($"the quota of {who} must allow at least one slice and a non-negative number of GPU-hours");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
