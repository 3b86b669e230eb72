using System.Net.WebSockets;
using System.Security.Claims;
using Attach.Gateway.Channels;
using Attach.Gateway.Channels.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Attach.Gateway.Tests.Channels;

/// <summary>The toolbar's interrupt button (an HTTP POST, not a channel message) aborts cells the gateway holds, then goes on to Jupyter.</summary>
public sealed class KernelInterruptInterceptionTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData("/api/kernels/k1/interrupt")]
    [InlineData("/user/u/api/kernels/k1/interrupt")]
    public async Task ToolbarInterrupt_WhileCellHeld_AbortsHeldAndQueuedCells_ThenForwardsThePost(string path)
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var harness = new RelayHarness(broker);
        var connection = harness.Connect(null);
        var (held, _) = CellFrames.Execute(KernelWireProtocol.Legacy, "a", "import torch");
        var (queued, _) = CellFrames.Execute(KernelWireProtocol.Legacy, "b", "print(1)");
        await connection.Client.SendAsync(held, WebSocketMessageType.Text, true, ct);
        var (_, brokerToken) = await broker.NextCallAsync(ct);
        await connection.Client.SendAsync(queued, WebSocketMessageType.Text, true, ct);
        await WaitUntilReadAsync(harness, connection, ct);

        var forwarded = await PostAsync(harness, path, "u");

        Assert.True(forwarded, "the interrupt was not passed on to Jupyter");
        Assert.True(brokerToken.IsCancellationRequested);
        foreach (var cell in new[] { "a", "b" })
        {
            var states = new List<string>();
            for (var i = 0; i < 3; i++)
            {
                var frame = await DecodedKernelFrame.ReceiveAsync(connection.Client, KernelWireProtocol.Legacy, ct);
                Assert.Equal(cell, frame.ParentMsgId);
                states.Add(frame.MsgType == "execute_reply" ? frame.Content.GetProperty("status").GetString()! : frame.Content.GetProperty("execution_state").GetString()!);
            }

            Assert.Equal(["busy", "aborted", "idle"], states);
        }

        // Neither cell reached the kernel; a cell sent after the interrupt runs.
        var (after, _) = CellFrames.Execute(KernelWireProtocol.Legacy, "c", "print(2)");
        await connection.Client.SendAsync(after, WebSocketMessageType.Text, true, ct);
        var (_, afterToken) = await broker.NextCallAsync(ct);
        broker.Decide(new Contracts.Kernels.ExecutionDecision(false, "none", null, false, null));
        Assert.Equal(after, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Data);
        Assert.False(afterToken.IsCancellationRequested);
        await CellFrames.CloseBothAsync(connection, ct);
    }

    [Fact]
    public async Task ToolbarInterrupt_WhileTheBrowserReconnects_AbandonsTheParkedHold_ThenForwardsThePost()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var harness = new RelayHarness(broker);
        var connection = harness.Connect(null, sessionId: "s1");
        var (held, _) = CellFrames.Execute(KernelWireProtocol.Legacy, "a", "import torch");
        await connection.Client.SendAsync(held, WebSocketMessageType.Text, true, ct);
        var (_, brokerToken) = await broker.NextCallAsync(ct);
        connection.Client.Abort();
        Assert.Equal(WebSocketMessageType.Close, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Type);
        await connection.Kernel.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", ct);
        await connection.Relay.WaitAsync(ct);

        Assert.True(await PostAsync(harness, "/api/kernels/k1/interrupt", "u"), "the interrupt was not passed on to Jupyter");

        Assert.True(brokerToken.IsCancellationRequested, "the parked cell's broker call went on");
        var reconnected = harness.Connect(null, sessionId: "s1");
        var states = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var frame = await DecodedKernelFrame.ReceiveAsync(reconnected.Client, KernelWireProtocol.Legacy, ct);
            Assert.Equal("a", frame.ParentMsgId);
            states.Add(frame.MsgType == "execute_reply" ? frame.Content.GetProperty("status").GetString()! : frame.Content.GetProperty("execution_state").GetString()!);
        }

        Assert.Equal(["busy", "aborted", "idle"], states);
        Assert.Equal(1, broker.CallCount);
        await CellFrames.CloseBothAsync(reconnected, ct);
    }

    [Fact]
    public async Task ToolbarInterrupt_FromAnotherUser_AbortsNothing()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var harness = new RelayHarness(broker);
        var connection = harness.Connect(null);
        var (held, _) = CellFrames.Execute(KernelWireProtocol.Legacy, "a", "import torch");
        await connection.Client.SendAsync(held, WebSocketMessageType.Text, true, ct);
        var (_, brokerToken) = await broker.NextCallAsync(ct);

        Assert.True(await PostAsync(harness, "/api/kernels/k1/interrupt", "someone-else"));

        Assert.False(brokerToken.IsCancellationRequested);
        broker.Decide(new Contracts.Kernels.ExecutionDecision(false, "none", null, false, null));
        Assert.Equal(held, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Data);
        await CellFrames.CloseBothAsync(connection, ct);
    }

    [Theory]
    [InlineData("GET", "/api/kernels/k1/interrupt")]
    [InlineData("POST", "/api/kernels/k1/restart")]
    [InlineData("POST", "/api/kernels/k2/interrupt")]
    public async Task OtherRequests_PassThrough_WithoutTouchingTheHold(string method, string path)
    {
        using var timeout = new CancellationTokenSource(Wait);
        var ct = timeout.Token;
        var broker = new ScriptedExecutionBroker();
        var harness = new RelayHarness(broker);
        var connection = harness.Connect(null);
        var (held, _) = CellFrames.Execute(KernelWireProtocol.Legacy, "a", "import torch");
        await connection.Client.SendAsync(held, WebSocketMessageType.Text, true, ct);
        var (_, brokerToken) = await broker.NextCallAsync(ct);

        Assert.True(await PostAsync(harness, path, "u", method));

        Assert.False(brokerToken.IsCancellationRequested);
        broker.Decide(new Contracts.Kernels.ExecutionDecision(false, "none", null, false, null));
        Assert.Equal(held, (await RelayedConnection.ReceiveAsync(connection.Kernel, ct)).Data);
        await CellFrames.CloseBothAsync(connection, ct);
    }

    /// <summary>Runs the middleware as the gateway's pipeline does; returns whether it called the next step (the proxy).</summary>
    private static async Task<bool> PostAsync(RelayHarness harness, string path, string user, string method = "POST")
    {
        var services = new ServiceCollection().AddLogging().AddSingleton(harness.Relay).BuildServiceProvider();
        var app = new ApplicationBuilder(services);
        app.UseKernelInterrupts();
        var forwarded = false;
        app.Run(_ =>
        {
            forwarded = true;
            return Task.CompletedTask;
        });
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.Method = method;
        context.Request.Path = path;
        context.User = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, user)], "test"));
        await app.Build()(context);
        return forwarded;
    }

    /// <summary>The reader numbers a message when it reads it; wait until the queued cell is read so the interrupt covers it.</summary>
    private static async Task WaitUntilReadAsync(RelayHarness harness, RelayedConnection connection, CancellationToken ct)
    {
        while (harness.Relay.MessagesRead("k1") < 2 && !connection.Relay.IsCompleted)
        {
            await Task.Delay(10, ct);
        }
    }
}
