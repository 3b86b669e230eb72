using System.Diagnostics;

namespace Attach.Agent.Tests.Shim;

/// <summary>A real process, not the test's own socket: its lease must end when the kernel closes its socket on SIGKILL.</summary>
public sealed class ShimProcessKillTests
{
    private const string Python = "/usr/bin/python3";

    // A minimal client in another language, written from docs/shim-protocol.md: hello, request, print the grant, block.
    private const string ClientScript = """
        import socket, struct, sys
        path, session = sys.argv[1], sys.argv[2]
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        def send(kind, fields):
            body = b"".join(k.encode() + b"=" + v.encode() + b"\0" for k, v in fields)
            s.sendall(struct.pack(">IB", len(body), kind) + body)
        def exactly(n):
            data = b""
            while len(data) < n:
                chunk = s.recv(n - len(data))
                if not chunk:
                    sys.exit("attach: agent closed the connection")
                data += chunk
            return data
        def receive():
            length, kind = struct.unpack(">IB", exactly(5))
            fields = exactly(length).split(b"\0")[:-1]
            return kind, dict(f.decode().split("=", 1) for f in fields)
        send(0x01, [("version", "1"), ("session", session), ("client", "python-test")])
        kind, welcome = receive()
        assert kind == 0x81, (kind, welcome)
        send(0x02, [("memory_mib", "1024"), ("wait", "1")])
        kind, granted = receive()
        assert kind == 0x83, (kind, granted)
        print("granted", granted["lease_id"], granted["env.CUDA_VISIBLE_DEVICES"], welcome["pid"], flush=True)
        sys.stdin.read()
        """;

    [Fact]
    public async Task ClientProcessKilled_LeaseIsReleasedWithItsPid()
    {
        Assert.True(File.Exists(Python), $"{Python} is needed for this test");
        await using var harness = await ShimHarness.StartAsync();
        var start = new ProcessStartInfo(Python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-c", ClientScript, harness.SocketPath, "script-session" })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var line = await process.StandardOutput.ReadLineAsync(timeout.Token);
            if (line is null)
            {
                Assert.Fail("the client printed nothing: " + await process.StandardError.ReadToEndAsync(timeout.Token));
            }

            var words = line.Split(' ');
            Assert.Equal("granted", words[0]);
            var leaseId = words[1];
            var binding = Assert.Single(harness.Ledger.Snapshot());
            Assert.Equal(binding.LeaseId, leaseId);
            Assert.Equal(binding.Gpu.Uuid, words[2]);
            // SO_PEERCRED saw the child, not the test process.
            Assert.Equal(process.Id.ToString(), words[3]);
            Assert.Equal(process.Id, Assert.Single(harness.Broker.Requests).Peer.Pid);

            process.Kill(); // SIGKILL: no exit handler runs; only the kernel closes the socket.
            await process.WaitForExitAsync(timeout.Token);
            var release = await harness.Broker.NextReleaseAsync();

            Assert.Equal(leaseId, release.LeaseId);
            Assert.Equal(process.Id, release.Peer.Pid);
            Assert.Empty(harness.Ledger.Snapshot());
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }
}
