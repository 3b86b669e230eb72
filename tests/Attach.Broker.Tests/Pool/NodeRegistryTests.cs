using Attach.Broker.Pool;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using static Attach.Broker.Tests.Pool.PoolBuilders;

namespace Attach.Broker.Tests.Pool;

public sealed class NodeRegistryTests
{
    private static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(30);
    private readonly FakeTimeProvider _time = new(Epoch);
    private readonly NodeRegistry _nodes;

    public NodeRegistryTests()
    {
        _nodes = new NodeRegistry(_time, Options.Create(new BrokerOptions { NodeStaleAfter = StaleAfter }));
    }

    [Fact]
    public void Record_FirstHeartbeat_IsNewAndLive()
    {
        Assert.True(_nodes.Record(Heartbeat("node-a", [Gpu(0, 80)])));

        var node = Assert.Single(_nodes.Live());
        Assert.Equal("node-a", node.Heartbeat.NodeId);
        Assert.Equal(Epoch, node.LastSeen);
    }

    [Fact]
    public void Record_RegularHeartbeats_AreNotNewAndKeepTheNodeLive()
    {
        _nodes.Record(Heartbeat("node-a", [Gpu(0, 80)]));

        for (var i = 0; i < 10; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(10));
            Assert.False(_nodes.Record(Heartbeat("node-a", [Gpu(0, 80)])));
        }

        Assert.Single(_nodes.Live());
    }

    [Fact]
    public void Live_NodeSilentForStaleAfter_IsStillLive()
    {
        _nodes.Record(Heartbeat("node-a", [Gpu(0, 80)]));

        _time.Advance(StaleAfter);

        Assert.Single(_nodes.Live());
    }

    [Fact]
    public void Live_NodeSilentLongerThanStaleAfter_IsLeftOutButStillListed()
    {
        _nodes.Record(Heartbeat("node-a", [Gpu(0, 80)]));
        _time.Advance(TimeSpan.FromSeconds(20));
        _nodes.Record(Heartbeat("node-b", [Gpu(0, 80)]));

        _time.Advance(StaleAfter - TimeSpan.FromSeconds(19));

        Assert.Equal(["node-b"], _nodes.Live().Select(n => n.Heartbeat.NodeId));
        Assert.Equal(["node-a", "node-b"], _nodes.All().Select(n => n.Heartbeat.NodeId));
    }

    [Fact]
    public void Record_StaleNodeHeardFromAgain_IsNewAgainAndLive()
    {
        _nodes.Record(Heartbeat("node-a", [Gpu(0, 80)]));
        _time.Advance(StaleAfter + TimeSpan.FromSeconds(1));

        Assert.True(_nodes.Record(Heartbeat("node-a", [Gpu(0, 80)])));
        Assert.Single(_nodes.Live());
    }

    [Fact]
    public void Record_LaterHeartbeat_ReplacesTheNodesGpus()
    {
        _nodes.Record(Heartbeat("node-a", [Gpu(0, 80), Gpu(1, 80)]));

        _nodes.Record(Heartbeat("node-a", [Gpu(0, 80)]));

        Assert.Single(Assert.Single(_nodes.Live()).Heartbeat.Gpus);
    }

    [Fact]
    public void Live_IsOrderedByNodeId()
    {
        _nodes.Record(Heartbeat("node-c", [Gpu(0, 80)]));
        _nodes.Record(Heartbeat("node-a", [Gpu(0, 80)]));
        _nodes.Record(Heartbeat("node-b", [Gpu(0, 80)]));

        Assert.Equal(["node-a", "node-b", "node-c"], _nodes.Live().Select(n => n.Heartbeat.NodeId));
    }
}
