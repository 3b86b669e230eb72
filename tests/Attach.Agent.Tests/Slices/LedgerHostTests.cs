using System.Net.Http.Json;
using Attach.Agent.Slices;
using Attach.Agent.Tests.Support;
using Attach.Contracts.Pool;

namespace Attach.Agent.Tests.Slices;

/// <summary>The ledger as the running agent keeps it in <c>Agent:StateDirectory</c>.</summary>
public sealed class LedgerHostTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("attach-agent-host-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private AgentFactory Agent() => new(new Dictionary<string, string?> { ["Agent:StateDirectory"] = _directory });

    [Fact]
    public async Task AgentRestart_ListsTheBindingsMadeBeforeIt()
    {
        await using (var before = Agent())
        {
            using var client = before.CreateAuthorizedClient();
            (await client.PostAsJsonAsync("/api/v1/bindings", new BindRequest("lease-1", 4, "kernel-1", 1, 20480, 25, "ada"))).EnsureSuccessStatusCode();
        }

        await using var after = Agent();
        using var restarted = after.CreateAuthorizedClient();
        var bindings = await restarted.GetFromJsonAsync<List<BindingInfo>>("/api/v1/bindings");

        var binding = Assert.Single(bindings!);
        Assert.Equal(("lease-1", 4L, "kernel-1", "ada", 1), (binding.LeaseId, binding.Epoch, binding.KernelId, binding.Owner, binding.Gpu.Index));
        Assert.True(File.Exists(Path.Combine(_directory, LedgerFile.FileName)));
    }

    [Fact]
    public async Task AgentStart_CorruptLedger_FailsWithTheReason()
    {
        await File.WriteAllTextAsync(Path.Combine(_directory, LedgerFile.FileName), "{ half a ledger");
        await using var agent = Agent();

        var error = Assert.Throws<LedgerCorruptException>(() => agent.CreateAuthorizedClient());

        Assert.Contains("does not start without its ledger", error.Message, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(_directory, LedgerFile.FileName + ".corrupt-*"));
    }
}
