using System.Globalization;
using Attach.Contracts.Kernels;
using Attach.Contracts.Pool;

namespace Attach.Agent.Shim;

/// <summary>One shim protocol message: a type and ordered <c>key=value</c> fields (see <see cref="ShimFrame"/>).</summary>
internal sealed class ShimMessage
{
    /// <summary>The protocol version this agent speaks.</summary>
    public const int ProtocolVersion = 1;

    /// <summary>Prefix of the <see cref="ShimMessageType.Granted"/> fields that are environment variables.</summary>
    public const string EnvironmentPrefix = "env.";

    public ShimMessage(ShimMessageType type, IReadOnlyList<KeyValuePair<string, string>> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        Type = type;
        Fields = fields;
    }

    public ShimMessageType Type { get; }

    public IReadOnlyList<KeyValuePair<string, string>> Fields { get; }

    /// <summary>The value of a field, or null when the message has none by that name.</summary>
    public string? this[string key]
    {
        get
        {
            foreach (var field in Fields)
            {
                if (string.Equals(field.Key, key, StringComparison.Ordinal))
                {
                    return field.Value;
                }
            }

            return null;
        }
    }

    public static ShimMessage Create(ShimMessageType type, params ReadOnlySpan<KeyValuePair<string, string>> fields) => new(type, fields.ToArray());

    public static ShimMessage Welcome(string nodeId, int peerPid) => Create(
        ShimMessageType.Welcome,
        Field("version", ProtocolVersion),
        Field("node", nodeId),
        Field("pid", peerPid),
        Field("max_body", ShimFrame.MaxBodyLength));

    public static ShimMessage Queued(ShimQueuePosition position)
    {
        ArgumentNullException.ThrowIfNull(position);
        return position.Eta is { } eta
            ? Create(ShimMessageType.Queued, Field("position", position.Position), Field("eta_seconds", (long)Math.Ceiling(eta.TotalSeconds)))
            : Create(ShimMessageType.Queued, Field("position", position.Position));
    }

    /// <summary>The slice and, as <c>env.NAME</c> fields, every variable the process must set before <c>cuInit</c>.</summary>
    public static ShimMessage Granted(BindingInfo binding, AttachmentInfo attachment)
    {
        ArgumentNullException.ThrowIfNull(binding);
        ArgumentNullException.ThrowIfNull(attachment);
        var fields = new List<KeyValuePair<string, string>>
        {
            Field("lease_id", binding.LeaseId),
            Field("gpu_index", binding.Gpu.Index),
            Field("gpu_uuid", binding.Gpu.Uuid),
            Field("gpu_name", binding.Gpu.DisplayName),
            Field("simulated", binding.Gpu.Simulated ? 1 : 0),
            Field("memory_mib", binding.MemoryMiB),
            Field("compute_percent", binding.ComputePercent),
            Field("waited_ms", (long)Math.Round(attachment.WaitSeconds * 1000)),
        };
        fields.AddRange(binding.Environment.Select(variable => Field(EnvironmentPrefix + variable.Key, variable.Value)));
        return new ShimMessage(ShimMessageType.Granted, fields);
    }

    public static ShimMessage Released(string? leaseId) =>
        leaseId is null ? Create(ShimMessageType.Released) : Create(ShimMessageType.Released, Field("lease_id", leaseId));

    public static ShimMessage Revoke(string leaseId, string reason) =>
        Create(ShimMessageType.Revoke, Field("lease_id", leaseId), Field("reason", reason));

    public static ShimMessage Error(string code, string message, bool fatal) =>
        Create(ShimMessageType.Error, Field("code", code), Field("message", message), Field("fatal", fatal ? 1 : 0));

    public static KeyValuePair<string, string> Field(string key, string value) => new(key, value);

    public static KeyValuePair<string, string> Field(string key, long value) => new(key, value.ToString(CultureInfo.InvariantCulture));
}
