using Attach.Agent.Shim;
using Attach.Agent.Slices;
using Attach.Agent.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Attach.Agent.Tests.Shim;

/// <summary>The shim socket as the agent host registers it.</summary>
public sealed class ShimAgentHostTests
{
    [Fact]
    public async Task Agent_ShimEnabled_ServesTheSocketWithTheLedgersBindings()
    {
        var directory = Directory.CreateTempSubdirectory("ash");
        try
        {
            var path = Path.Combine(directory.FullName, "agent.sock");
            FakeShimLeaseBroker? broker = null;
            await using var agent = new AgentFactory(
                new Dictionary<string, string?> { ["Agent:Shim:Enabled"] = "true", ["Agent:Shim:SocketPath"] = path },
                services => services.AddSingleton<IShimLeaseBroker>(serviceProvider =>
                    broker = new FakeShimLeaseBroker(serviceProvider.GetRequiredService<SliceLedger>(), AgentFactory.NodeId, gpuCount: 4)));
            _ = agent.Server;

            await using var client = await ShimTestClient.HelloAsync(path, "host-session");
            await client.SendAsync(ShimMessageType.RequestLease, ("memory_mib", "81920"));
            var granted = await client.ExpectAsync(ShimMessageType.Granted);

            var binding = Assert.Single(agent.Services.GetRequiredService<SliceLedger>().Snapshot());
            Assert.Equal(binding.LeaseId, granted["lease_id"]);
            // A whole GPU: no HAMi-core limits.
            Assert.Null(granted["env.CUDA_DEVICE_MEMORY_LIMIT"]);
            Assert.NotNull(broker);
            Assert.Equal(path, agent.Services.GetRequiredService<ShimSocketServer>().SocketPath);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}
