using Attach.Contracts.Pool;
using Microsoft.Extensions.Options;

namespace Attach.Broker.Pool;

/// <summary>The agents the broker has heard from, kept current by their heartbeats.</summary>
internal sealed class NodeRegistry(TimeProvider timeProvider, IOptions<BrokerOptions> options)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, RegisteredNode> _nodes = new(StringComparer.Ordinal);

    /// <summary>Records a heartbeat; returns true when the node is new (or back after going stale).</summary>
    public bool Record(NodeHeartbeat heartbeat)
    {
        ArgumentNullException.ThrowIfNull(heartbeat);
        var now = timeProvider.GetUtcNow();
        lock (_lock)
        {
            var known = _nodes.TryGetValue(heartbeat.NodeId, out var previous) && !IsStale(previous, now);
            _nodes[heartbeat.NodeId] = new RegisteredNode(heartbeat, now);
            return !known;
        }
    }

    /// <summary>Nodes heard from recently enough to place slices on.</summary>
    public IReadOnlyList<RegisteredNode> Live()
    {
        var now = timeProvider.GetUtcNow();
        lock (_lock)
        {
            return [.. _nodes.Values.Where(n => !IsStale(n, now)).OrderBy(n => n.Heartbeat.NodeId, StringComparer.Ordinal)];
        }
    }

    /// <summary>Every node ever registered, stale ones included (the pool view shows them).</summary>
    public IReadOnlyList<RegisteredNode> All()
    {
        lock (_lock)
        {
            return [.. _nodes.Values.OrderBy(n => n.Heartbeat.NodeId, StringComparer.Ordinal)];
        }
    }

    private bool IsStale(RegisteredNode node, DateTimeOffset now) => now - node.LastSeen > options.Value.NodeStaleAfter;
}

/// <summary>A node's last heartbeat and when it arrived.</summary>
internal sealed record RegisteredNode(NodeHeartbeat Heartbeat, DateTimeOffset LastSeen);
