using Attach.Native.Tests.Support;

namespace Attach.Native.Tests;

/// <summary>No agent, a silent agent, a refusal, a queue that does not move: a clear message and a bounded wait, never a hang.</summary>
public sealed class AgentUnavailableTests
{
    private const string NoDevice = "cuInit=100";

    [Fact]
    public async Task AgentAbsent_FailClosed_CuInitReturnsNoDeviceWithAMessage()
    {
        var directory = Directory.CreateTempSubdirectory("ans");
        try
        {
            var shim = new ShimEnvironment(Path.Combine(directory.FullName, "agent.sock"), directory) { ["ATTACH_SESSION"] = "absent" };
            await using var process = shim.Start(NativeBuild.DirectProgram, "once");

            Assert.Equal(1, await process.ExitCodeAsync());
            Assert.Contains(NoDevice, process.Output);
            var message = await process.ErrorLineAsync("cannot reach the GPU agent");
            Assert.StartsWith("attach: ", message, StringComparison.Ordinal);
            Assert.Contains("ATTACH_FAIL_OPEN=1", message, StringComparison.Ordinal);
            Assert.Empty(shim.CuInitCalls);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task AgentAbsent_FailOpen_TheRealCuInitRunsWithoutALease()
    {
        var directory = Directory.CreateTempSubdirectory("ans");
        try
        {
            var shim = new ShimEnvironment(Path.Combine(directory.FullName, "agent.sock"), directory)
            {
                ["ATTACH_SESSION"] = "absent",
                ["ATTACH_FAIL_OPEN"] = "1",
            };
            await using var process = shim.Start(NativeBuild.DirectProgram, "once");

            Assert.Equal(0, await process.ExitCodeAsync());
            Assert.Contains("cuInit=0", process.Output);
            Assert.StartsWith("attach: ", await process.ErrorLineAsync("without a lease"), StringComparison.Ordinal);
            Assert.Equal("<unset>", Assert.Single(shim.CuInitCalls)["CUDA_VISIBLE_DEVICES"]);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task QueueThatOutlastsTheTimeout_GivesUpAndAbandonsTheRequest()
    {
        await using var agent = FakeAgent.Start(new FakeAgentBehavior { QueuePositions = [1], Grant = false });
        var shim = new ShimEnvironment(agent) { ["ATTACH_SESSION"] = "patient", ["ATTACH_TIMEOUT"] = "1" };
        await using var process = shim.Start(NativeBuild.DirectProgram, "once", "hold");

        await process.OutputLineAsync("ready");
        Assert.Contains(NoDevice, process.Output);
        Assert.StartsWith("attach: no GPU within 1 s", await process.ErrorLineAsync("ATTACH_TIMEOUT"), StringComparison.Ordinal);
        var connection = Assert.Single(agent.Connections);
        // Given up while the process goes on: the request is abandoned by closing the connection.
        await connection.Closed.WaitAsync(ShimProcess.Patience);
        Assert.Equal(1, connection.Requests);
        Assert.Empty(shim.CuInitCalls);
    }

    [Fact]
    public async Task AgentThatNeverAnswersHello_IsUnreachableAfterTheConnectTimeout()
    {
        await using var agent = FakeAgent.Start(new FakeAgentBehavior { AnswerHello = false });
        var shim = new ShimEnvironment(agent)
        {
            ["ATTACH_SESSION"] = "silent",
            ["ATTACH_CONNECT_TIMEOUT"] = "1",
            ["ATTACH_FAIL_OPEN"] = "1",
        };
        await using var process = shim.Start(NativeBuild.DirectProgram, "once");

        Assert.Equal(0, await process.ExitCodeAsync());
        Assert.Contains("no answer within 1 s", await process.ErrorLineAsync("cannot reach the GPU agent"), StringComparison.Ordinal);
        Assert.Equal(0, Assert.Single(agent.Connections).Requests);
        Assert.Equal("<unset>", Assert.Single(shim.CuInitCalls)["CUDA_VISIBLE_DEVICES"]);
    }

    [Fact]
    public async Task RefusedLease_FailsClosedWithTheAgentsReasonEvenWhenFailingOpen()
    {
        // Fail-open is for an agent that cannot be reached; a refusal is an answer.
        await using var agent = FakeAgent.Start(new FakeAgentBehavior { RefusalCode = "refused", RefusalMessage = "Session nobody is unknown to the broker." });
        var shim = new ShimEnvironment(agent) { ["ATTACH_SESSION"] = "nobody", ["ATTACH_FAIL_OPEN"] = "1" };
        await using var process = shim.Start(NativeBuild.DirectProgram, "once");

        Assert.Equal(1, await process.ExitCodeAsync());
        Assert.Contains(NoDevice, process.Output);
        var message = await process.ErrorLineAsync("Session nobody is unknown to the broker.");
        Assert.StartsWith("attach: no GPU for session nobody", message, StringComparison.Ordinal);
        Assert.Contains("[refused]", message, StringComparison.Ordinal);
        Assert.Empty(shim.CuInitCalls);
    }

    [Theory]
    [InlineData("ATTACH_MEMORY", "lots")]
    [InlineData("ATTACH_PRIORITY", "urgent")]
    [InlineData("ATTACH_TIMEOUT", "10m")]
    [InlineData("ATTACH_SESSION", "not a token")]
    public async Task BadSetting_FailsClosedWithoutAskingTheAgent(string name, string value)
    {
        await using var agent = FakeAgent.Start();
        var shim = new ShimEnvironment(agent) { ["ATTACH_SESSION"] = "settings", ["ATTACH_FAIL_OPEN"] = "1", [name] = value };
        await using var process = shim.Start(NativeBuild.DirectProgram, "once");

        Assert.Equal(1, await process.ExitCodeAsync());
        Assert.StartsWith("attach: " + name, await process.ErrorLineAsync(name), StringComparison.Ordinal);
        Assert.Empty(agent.Connections);
        Assert.Empty(shim.CuInitCalls);
    }
}
