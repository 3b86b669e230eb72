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
    private readonly Dictionary<string, DeploymentUser> _users = new(StringComparer.Ordinal);

    public string GatewayToken { get; } = Secret();

    public string JupyterToken { get; } = Secret();

    public string InternalKey { get; } = Secret();

    public string User { get; } = "ada";

    public Uri GatewayUrl { get; private set; } = null!;

    public Uri JupyterUrl { get; private set; } = null!;

    public Uri BrokerUrl { get; private set; } = null!;

    /// <summary>The broker's idle timeout in this deployment.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// When set, no Jupyter Server is started: the gateway is pointed at this URL instead (make bench's echo
    /// kernel backend). Single-user mode only.
    /// </summary>
    public Uri? ExternalJupyterUrl { get; init; }

    /// <summary>Which Jupyter server runs behind the gateway.</summary>
    public JupyterFlavor Flavor { get; init; } = JupyterFlavor.JupyterServer;

    /// <summary>
    /// When set (Flavor must be JupyterServer), Jupyter is the JupyterLab 4 front end of notebook-extension/lab-app
    /// (a jupyterlab-server app on jupyter_server) started from this script, serving /lab (each user's, in
    /// multi-user mode). Null: plain jupyter_server.
    /// </summary>
    public string? JupyterLabApp { get; init; }

    /// <summary>
    /// Extra Jupyter data folders (JUPYTER_PATH) for the Jupyter process: a labextension copied into
    /// <c>{folder}/labextensions/</c> is loaded by the JupyterLab front end.
    /// </summary>
    public string? JupyterDataPath { get; init; }

    /// <summary>
    /// Multi-user mode when not empty: each named user gets their own Jupyter Server (base_url /user/{name}/,
    /// its own token and notebook folder) and the gateway gets a users file instead of one token.
    /// </summary>
    public IReadOnlyList<string> UserNames { get; init; } = [];

    /// <summary>More settings for the gateway process (single-user mode), e.g. its configurable-http-proxy API.</summary>
    public IReadOnlyDictionary<string, string> GatewayEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>Multi-user mode: the users the users file marks <c>"admin": true</c>.</summary>
    public IReadOnlyList<string> AdminNames { get; init; } = [];

    /// <summary>The users of a multi-user deployment, by name (empty otherwise).</summary>
    public IReadOnlyDictionary<string, DeploymentUser> Users => _users;

    /// <summary>The users file the gateway was given (multi-user mode).</summary>
    public string UsersFile => Path.Combine(_notebookDir, ".users.json");

    /// <summary>The folder the Jupyter server serves notebooks from.</summary>
    public string NotebookDirectory => _notebookDir;

    /// <summary>The agent's shim socket (what <c>ATTACH_AGENT_SOCKET</c> points a shimmed process at).</summary>
    public string AgentSocket => Path.Combine(_notebookDir, "agent.sock");

    public IReadOnlyList<ManagedProcess> Processes => _processes;

    public ManagedProcess Jupyter => _processes.Single(p => p.Name == "jupyter");

    /// <summary>Every secret the deployment uses; none may ever appear in a log.</summary>
    public IReadOnlyList<string> Secrets => [GatewayToken, JupyterToken, InternalKey, .. _users.Values.SelectMany(u => new[] { u.Token, u.JupyterToken })];

    public async Task StartAsync()
    {
        if (UserNames.Count > 0)
        {
            await StartMultiUserAsync();
            return;
        }

        var jupyterPort = ExternalJupyterUrl?.Port ?? FreePort.Next();
        var brokerPort = FreePort.Next();
        var agentPort = FreePort.Next();
        var gatewayPort = FreePort.Next();
        JupyterUrl = ExternalJupyterUrl ?? new Uri($"http://127.0.0.1:{jupyterPort}/");
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

        var jupyter = ExternalJupyterUrl is not null ? null : Start("jupyter", "/usr/bin/python3",
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
        var gateway = StartService("gateway", "gateway/Attach.Gateway", gatewayPort, new(GatewayEnvironment)
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
            jupyter?.WaitUntilReadyAsync(() => IsOk(http, new Uri(JupyterUrl, "api/status"), "token", JupyterToken), ready) ?? Task.CompletedTask,
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

    /// <summary>The multi-user variant of <see cref="StartAsync"/>: one Jupyter Server per user, a users file, the same broker and agent.</summary>
    private async Task StartMultiUserAsync()
    {
        var brokerPort = FreePort.Next();
        var agentPort = FreePort.Next();
        var gatewayPort = FreePort.Next();
        BrokerUrl = new Uri($"http://127.0.0.1:{brokerPort}/");
        GatewayUrl = new Uri($"http://127.0.0.1:{gatewayPort}/");
        var agentUrl = new Uri($"http://127.0.0.1:{agentPort}/");
        var entries = new List<object>();
        foreach (var name in UserNames)
        {
            var port = FreePort.Next();
            var user = new DeploymentUser(name, Secret(), Secret(), new Uri($"http://127.0.0.1:{port}/user/{name}/"), Path.Combine(_notebookDir, name));
            Directory.CreateDirectory(user.NotebookDirectory);
            _users[name] = user;
            string[] arguments = Flavor == JupyterFlavor.JupyterServer
                ? [.. JupyterLabApp is null ? ["-m", "jupyter_server"] : new[] { JupyterLabApp }, $"--ServerApp.token={user.JupyterToken}", $"--ServerApp.root_dir={user.NotebookDirectory}", $"--ServerApp.base_url=/user/{name}/"]
                : ["-m", "notebook", $"--NotebookApp.token={user.JupyterToken}", $"--NotebookApp.notebook_dir={user.NotebookDirectory}", $"--NotebookApp.base_url=/user/{name}/"];
            var environment = new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin", ["JUPYTER_RUNTIME_DIR"] = Path.Combine(user.NotebookDirectory, ".runtime") };
            if (JupyterDataPath is not null)
            {
                environment["JUPYTER_PATH"] = JupyterDataPath;
            }

            if (JupyterLabApp is not null)
            {
                environment["JUPYTER_CONFIG_DIR"] = Path.Combine(user.NotebookDirectory, ".jupyter-config");
            }

            Start("jupyter-" + name, "/usr/bin/python3",
                [.. arguments, "--no-browser", "--allow-root", "--ip=127.0.0.1", $"--port={port}", "--port-retries=0"],
                environment);
            entries.Add(new
            {
                name,
                tokenHash = await HashTokenAsync(user.Token),
                admin = AdminNames.Contains(name, StringComparer.Ordinal),
                jupyter = new { url = user.JupyterUrl.ToString(), token = user.JupyterToken },
            });
        }

        File.WriteAllText(UsersFile, JsonSerializer.Serialize(new { users = entries }));
        var broker = StartService("broker", "kernel-broker/Attach.Broker", brokerPort, new()
        {
            ["Broker__IdleTimeout"] = IdleTimeout.ToString("c"),
            ["Broker__Store__Path"] = Path.Combine(_notebookDir, ".broker-state", "broker.db"),
        });
        StartService("agent", "attach-agent/Attach.Agent", agentPort, new()
        {
            ["Agent__BrokerUrl"] = BrokerUrl.ToString(),
            ["Agent__AdvertisedUrl"] = agentUrl.ToString(),
            ["Agent__Backend"] = "simulated",
            ["Agent__NodeId"] = "test-node",
            ["Agent__HeartbeatInterval"] = "00:00:01",
            ["Agent__Shim__SocketPath"] = AgentSocket,
            ["Agent__StateDirectory"] = Path.Combine(_notebookDir, ".agent-state"),
        });
        var gateway = StartService("gateway", "gateway/Attach.Gateway", gatewayPort, new()
        {
            ["Gateway__UsersFile"] = UsersFile,
            ["Gateway__BrokerUrl"] = BrokerUrl.ToString(),
        });

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var ready = TimeSpan.FromSeconds(60);
        var first = _users[UserNames[0]];
        await Task.WhenAll([
            .. _users.Values.Select(u => _processes.Single(p => p.Name == "jupyter-" + u.Name)
                .WaitUntilReadyAsync(() => IsOk(http, new Uri(u.JupyterUrl, "api/status"), "token", u.JupyterToken), ready)),
            broker.WaitUntilReadyAsync(async () => (await PoolAsync(http)).Contains("\"gpus\"", StringComparison.Ordinal), ready),
            gateway.WaitUntilReadyAsync(() => IsOk(http, new Uri(GatewayUrl, $"user/{first.Name}/api/status"), "token", first.Token), ready),
        ]);
    }

    /// <summary>The users-file hash of a token, made the way an admin makes it: <c>dotnet Attach.Gateway.dll hash-token</c>.</summary>
    private static async Task<string> HashTokenAsync(string token)
    {
        var info = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(RepositoryPaths.ServiceDll("gateway/Attach.Gateway"));
        info.ArgumentList.Add("hash-token");
        using var process = System.Diagnostics.Process.Start(info)!;
        await process.StandardInput.WriteLineAsync(token);
        process.StandardInput.Close();
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var line = output.Split('\n').Select(l => l.Trim()).SingleOrDefault(l => l.StartsWith("tokenHash: ", StringComparison.Ordinal));
        return line?["tokenHash: ".Length..] ?? throw new InvalidOperationException($"hash-token exited with {process.ExitCode}: {output}");
    }

    /// <summary>An HttpClient that talks to the gateway as <paramref name="user"/> (multi-user mode).</summary>
    public HttpClient GatewayClientFor(string user)
    {
        var http = new HttpClient { BaseAddress = GatewayUrl, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("token", _users[user].Token);
        return http;
    }

    /// <summary>Starts a kernel on <paramref name="user"/>'s own Jupyter Server, through the gateway; returns its id.</summary>
    public async Task<string> StartKernelAsync(string user)
    {
        using var gateway = GatewayClientFor(user);
        using var response = await gateway.PostAsJsonAsync($"user/{user}/api/kernels", new { name = "python3" });
        response.EnsureSuccessStatusCode();
        var kernel = await response.Content.ReadFromJsonAsync<JsonElement>();
        return kernel.GetProperty("id").GetString()!;
    }

    /// <summary>The kernel ids <paramref name="user"/>'s Jupyter Server has, asked directly (not through the gateway).</summary>
    public async Task<IReadOnlyList<string>> JupyterKernelIdsAsync(string user)
    {
        var u = _users[user];
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(u.JupyterUrl, "api/kernels"));
        request.Headers.Authorization = new AuthenticationHeaderValue("token", u.JupyterToken);
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var kernels = await response.Content.ReadFromJsonAsync<JsonElement>();
        return [.. kernels.EnumerateArray().Select(k => k.GetProperty("id").GetString()!)];
    }

    /// <summary>The broker's pool, asked directly with the internal key.</summary>
    public async Task<string> BrokerPoolAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        return await PoolAsync(http);
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

/// <summary>One user of a multi-user <see cref="EmbeddedDeployment"/>.</summary>
/// <param name="Name">The user's name (their /user/{name}/ prefix).</param>
/// <param name="Token">The token they present to the gateway.</param>
/// <param name="JupyterToken">Their Jupyter Server's own token (only the gateway uses it).</param>
/// <param name="JupyterUrl">Their Jupyter Server, with its base_url.</param>
/// <param name="NotebookDirectory">The folder their server serves.</param>
public sealed record DeploymentUser(string Name, string Token, string JupyterToken, Uri JupyterUrl, string NotebookDirectory);
