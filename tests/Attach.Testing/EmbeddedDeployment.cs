using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Attach.Testing.Processes;

namespace Attach.Testing;

/// <summary>
/// The embedded default as real processes on 127.0.0.1: Debian's Jupyter Server, the broker, one agent
/// with a simulated pool, and the gateway, each started from its build output with its own secrets.
/// </summary>
public sealed class EmbeddedDeployment : IAsyncDisposable
{
    private readonly List<ManagedProcess> _processes = [];
    private readonly string _notebookDir = Directory.CreateTempSubdirectory("attach-jupyter-").FullName;

    public string GatewayToken { get; } = Secret();

    public string JupyterToken { get; } = Secret();

    public string InternalKey { get; } = Secret();

    public string User { get; } = "ada";

    public Uri GatewayUrl { get; private set; } = null!;

    public Uri JupyterUrl { get; private set; } = null!;

    public Uri BrokerUrl { get; private set; } = null!;

    /// <summary>The broker's idle timeout in this deployment.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Which Jupyter server runs behind the gateway.</summary>
    public JupyterFlavor Flavor { get; init; } = JupyterFlavor.JupyterServer;

    /// <summary>
    /// When set (Flavor must be JupyterServer), Jupyter is the JupyterLab 4 front end of notebook-extension/lab-app
    /// (a jupyterlab-server app on jupyter_server) started from this script, serving /lab. Null: plain jupyter_server.
    /// </summary>
    public string? JupyterLabApp { get; init; }

    /// <summary>
    /// Extra Jupyter data folders (JUPYTER_PATH) for the Jupyter process: a labextension copied into
    /// <c>{folder}/labextensions/</c> is loaded by the JupyterLab front end.
    /// </summary>
    public string? JupyterDataPath { get; init; }

    /// <summary>The folder the Jupyter server serves notebooks from.</summary>
    public string NotebookDirectory => _notebookDir;

    /// <summary>The agent's shim socket (what <c>ATTACH_AGENT_SOCKET</c> points a shimmed process at).</summary>
    public string AgentSocket => Path.Combine(_notebookDir, "agent.sock");

    public IReadOnlyList<ManagedProcess> Processes => _processes;

    public ManagedProcess Jupyter => _processes.Single(p => p.Name == "jupyter");

    /// <summary>Every secret the deployment uses; none may ever appear in a log.</summary>
    public IReadOnlyList<string> Secrets => [GatewayToken, JupyterToken, InternalKey];

    public async Task StartAsync()
    {
        var jupyterPort = FreePort.Next();
        var brokerPort = FreePort.Next();
        var agentPort = FreePort.Next();
        var gatewayPort = FreePort.Next();
        JupyterUrl = new Uri($"http://127.0.0.1:{jupyterPort}/");
        BrokerUrl = new Uri($"http://127.0.0.1:{brokerPort}/");
        GatewayUrl = new Uri($"http://127.0.0.1:{gatewayPort}/");
        var agentUrl = new Uri($"http://127.0.0.1:{agentPort}/");

        string[] jupyterArguments = Flavor == JupyterFlavor.JupyterServer
            ? [.. JupyterLabApp is null ? ["-m", "jupyter_server"] : new[] { JupyterLabApp }, $"--ServerApp.token={JupyterToken}", $"--ServerApp.root_dir={_notebookDir}"]
            : ["-m", "notebook", $"--NotebookApp.token={JupyterToken}", $"--NotebookApp.notebook_dir={_notebookDir}"];
        var jupyterEnvironment = new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin", ["JUPYTER_RUNTIME_DIR"] = Path.Combine(_notebookDir, ".runtime") };
        if (JupyterDataPath is not null)
        {
            jupyterEnvironment["JUPYTER_PATH"] = JupyterDataPath;
        }

        if (JupyterLabApp is not null)
        {
            // JupyterLab's settings and workspaces of this deployment only, not the machine's ~/.jupyter.
            jupyterEnvironment["JUPYTER_CONFIG_DIR"] = Path.Combine(_notebookDir, ".jupyter-config");
        }

        var jupyter = Start("jupyter", "/usr/bin/python3",
            [.. jupyterArguments, "--no-browser", "--allow-root", "--ip=127.0.0.1", $"--port={jupyterPort}", "--port-retries=0"],
            jupyterEnvironment);
        var broker = StartBroker();
        var agent = StartService("agent", "attach-agent/Attach.Agent", agentPort, new()
        {
            ["Agent__BrokerUrl"] = BrokerUrl.ToString(),
            ["Agent__AdvertisedUrl"] = agentUrl.ToString(),
            ["Agent__Backend"] = "simulated",
            ["Agent__NodeId"] = "test-node",
            ["Agent__HeartbeatInterval"] = "00:00:01",
            // Its own shim socket, not the machine's /run/attach/agent.sock.
            ["Agent__Shim__SocketPath"] = AgentSocket,
            // And its own ledger, not the machine's /var/lib/attach/agent (hidden from Jupyter's file browser).
            ["Agent__StateDirectory"] = Path.Combine(_notebookDir, ".agent-state"),
        });
        var gateway = StartService("gateway", "gateway/Attach.Gateway", gatewayPort, new()
        {
            ["Gateway__JupyterUrl"] = JupyterUrl.ToString(),
            ["Gateway__JupyterToken"] = JupyterToken,
            ["Gateway__BrokerUrl"] = BrokerUrl.ToString(),
            ["Gateway__Token"] = GatewayToken,
            ["Gateway__User"] = User,
        });

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var ready = TimeSpan.FromSeconds(60);
        await Task.WhenAll(
            jupyter.WaitUntilReadyAsync(() => IsOk(http, new Uri(JupyterUrl, "api/status"), "token", JupyterToken), ready),
            broker.WaitUntilReadyAsync(async () => (await PoolAsync(http)).Contains("\"gpus\"", StringComparison.Ordinal), ready),
            gateway.WaitUntilReadyAsync(() => IsOk(http, new Uri(GatewayUrl, "api/status"), "token", GatewayToken), ready));
        _ = agent;
    }

    /// <summary>Kills the broker (the hub and the API go away; its SQLite store stays).</summary>
    public async Task StopBrokerAsync()
    {
        var broker = _processes.Single(p => p.Name == "broker");
        _processes.Remove(broker);
        await broker.DisposeAsync();
    }

    /// <summary>Starts the broker again on its address, with the same store, and waits until the agent is back in its pool.</summary>
    public async Task RestartBrokerAsync()
    {
        var broker = StartBroker();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await broker.WaitUntilReadyAsync(async () => (await PoolAsync(http)).Contains("\"gpus\"", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
    }

    /// <summary>An HttpClient that talks to the gateway as the deployment's user.</summary>
    public HttpClient GatewayClient()
    {
        var http = new HttpClient { BaseAddress = GatewayUrl, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("token", GatewayToken);
        return http;
    }

    /// <summary>Starts a kernel through the gateway; returns its id.</summary>
    public async Task<string> StartKernelAsync()
    {
        using var gateway = GatewayClient();
        using var response = await gateway.PostAsJsonAsync("api/kernels", new { name = "python3" });
        response.EnsureSuccessStatusCode();
        var kernel = await response.Content.ReadFromJsonAsync<JsonElement>();
        return kernel.GetProperty("id").GetString()!;
    }

    /// <summary>The kernel ids the Jupyter Server has, asked directly (not through the gateway).</summary>
    public async Task<IReadOnlyList<string>> JupyterKernelIdsAsync()
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(JupyterUrl, "api/kernels"));
        request.Headers.Authorization = new AuthenticationHeaderValue("token", JupyterToken);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var kernels = await response.Content.ReadFromJsonAsync<JsonElement>();
        return [.. kernels.EnumerateArray().Select(k => k.GetProperty("id").GetString()!)];
    }

    /// <summary>Everything every process has logged so far.</summary>
    public string AllOutput() => string.Join('\n', _processes.SelectMany(p => p.Output.Select(line => $"[{p.Name}] {line}")));

    public async ValueTask DisposeAsync()
    {
        foreach (var process in Enumerable.Reverse(_processes))
        {
            await process.DisposeAsync();
        }

        try
        {
            Directory.Delete(_notebookDir, recursive: true);
        }
        catch (IOException)
        {
            // A kernel's last file write raced the kill; the temp folder is left for the OS.
        }
    }

    private ManagedProcess StartBroker() =>
        StartService("broker", "kernel-broker/Attach.Broker", BrokerUrl.Port, new()
        {
            ["Broker__IdleTimeout"] = IdleTimeout.ToString("c"),
            ["Broker__Store__Path"] = Path.Combine(_notebookDir, ".broker-state", "broker.db"),
        });

    private ManagedProcess StartService(string name, string project, int port, Dictionary<string, string> environment)
    {
        environment["Attach__InternalKey"] = InternalKey;
        environment["DOTNET_ENVIRONMENT"] = "Development";
        environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        return Start(name, "dotnet", [RepositoryPaths.ServiceDll(project), "--urls", $"http://127.0.0.1:{port}"], environment);
    }

    private ManagedProcess Start(string name, string fileName, IEnumerable<string> arguments, IDictionary<string, string> environment)
    {
        var process = ManagedProcess.Start(name, fileName, arguments, environment);
        _processes.Add(process);
        return process;
    }

    private async Task<string> PoolAsync(HttpClient http)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(BrokerUrl, "api/v1/pool"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", InternalKey);
        using var response = await http.SendAsync(request);
        return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : "";
    }

    private static async Task<bool> IsOk(HttpClient http, Uri uri, string scheme, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Authorization = new AuthenticationHeaderValue(scheme, token);
        using var response = await http.SendAsync(request);
        return response.IsSuccessStatusCode;
    }

    private static string Secret() => Convert.ToHexString(RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
}
