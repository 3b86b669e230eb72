using System.Diagnostics;
using System.Text.Json;

namespace Attach.Cli.Tests.Kernelspecs;

/// <summary><c>attach kernelspec install</c> writes a spec Jupyter itself accepts.</summary>
public sealed class KernelspecInstallTests : IDisposable
{
    private readonly CliRunner _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Install_WritesAKernelJsonThatPreloadsTheShim()
    {
        var prefix = Path.Combine(_cli.Home, "prefix");

        var result = await _cli.RunAsync("kernelspec", "install", "--prefix", prefix, "--shim", "/opt/attach/libattach.so", "--socket", "/run/attach/agent.sock");

        Assert.True(result.ExitCode == 0, result.ToString());
        var file = Path.Combine(prefix, "share", "jupyter", "kernels", "attach-python3", "kernel.json");
        using var spec = JsonDocument.Parse(await File.ReadAllTextAsync(file));
        var root = spec.RootElement;
        Assert.Equal(["/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"], root.GetProperty("argv").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("Python 3 (attach GPU)", root.GetProperty("display_name").GetString());
        Assert.Equal("python", root.GetProperty("language").GetString());
        Assert.Equal("/opt/attach/libattach.so", root.GetProperty("env").GetProperty("LD_PRELOAD").GetString());
        Assert.Equal("/run/attach/agent.sock", root.GetProperty("env").GetProperty("ATTACH_AGENT_SOCKET").GetString());
        Assert.Equal("1", root.GetProperty("env").GetProperty("ATTACH_VERBOSE").GetString());
        // The shim takes the session from the connection file's name; a fixed one would merge all kernels.
        Assert.False(root.GetProperty("env").TryGetProperty("ATTACH_SESSION", out _));
        Assert.Contains(file[..^"kernel.json".Length].TrimEnd('/'), result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JupyterListsTheInstalledSpec()
    {
        var prefix = Path.Combine(_cli.Home, "prefix");
        var result = await _cli.RunAsync("kernelspec", "install", "--prefix", prefix, "--name", "gpu-py", "--display-name", "GPU Python", "--python", "/usr/bin/python3", "--shim", "/opt/attach/libattach.so");
        Assert.True(result.ExitCode == 0, result.ToString());

        // Debian's jupyter-client has no jupyter-kernelspec script; this is the same application it runs.
        var listing = await PythonAsync(Path.Combine(prefix, "share", "jupyter"), "-m", "jupyter_client.kernelspecapp", "list", "--json");

        using var json = JsonDocument.Parse(listing);
        var found = json.RootElement.GetProperty("kernelspecs").GetProperty("gpu-py");
        Assert.Equal(Path.Combine(prefix, "share", "jupyter", "kernels", "gpu-py"), found.GetProperty("resource_dir").GetString());
        Assert.Equal("GPU Python", found.GetProperty("spec").GetProperty("display_name").GetString());
        Assert.Equal("/opt/attach/libattach.so", found.GetProperty("spec").GetProperty("env").GetProperty("LD_PRELOAD").GetString());
    }

    [Fact]
    public async Task User_InstallsUnderJupyterDataDir()
    {
        _cli.Environment["JUPYTER_DATA_DIR"] = Path.Combine(_cli.Home, "data");

        var result = await _cli.RunAsync("kernelspec", "install", "--user", "--shim", "/opt/attach/libattach.so");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(File.Exists(Path.Combine(_cli.Home, "data", "kernels", "attach-python3", "kernel.json")));
    }

    [Fact]
    public async Task Default_IsTheUsersLocalShare()
    {
        var result = await _cli.RunAsync("kernelspec", "install", "--shim", "/opt/attach/libattach.so");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(File.Exists(Path.Combine(_cli.Home, ".local", "share", "jupyter", "kernels", "attach-python3", "kernel.json")));
    }

    [Fact]
    public async Task AKernelStartedFromTheSpec_RunsWithTheShimPreloaded()
    {
        // Any loadable library stands in for libattach.so: the kernel must start with it in LD_PRELOAD.
        var standIn = new[] { "/lib/x86_64-linux-gnu/libm.so.6", "/lib/aarch64-linux-gnu/libm.so.6" }.First(File.Exists);
        var prefix = Path.Combine(_cli.Home, "prefix");
        Assert.Equal(0, (await _cli.RunAsync("kernelspec", "install", "--prefix", prefix, "--shim", standIn)).ExitCode);

        var output = await PythonAsync(Path.Combine(prefix, "share", "jupyter"), "-c", """
            from jupyter_client.manager import start_new_kernel
            km, kc = start_new_kernel(kernel_name="attach-python3")
            try:
                reply = kc.execute_interactive("import os; print(os.environ['LD_PRELOAD'])", timeout=60)
            finally:
                kc.stop_channels()
                km.shutdown_kernel(now=True)
            """);

        Assert.Contains(standIn, output, StringComparison.Ordinal);
    }

    private async Task<string> PythonAsync(string jupyterPath, params string[] args)
    {
        var start = new ProcessStartInfo("/usr/bin/python3", args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["JUPYTER_PATH"] = jupyterPath;
        start.Environment["JUPYTER_RUNTIME_DIR"] = Path.Combine(_cli.Home, "runtime");
        start.Environment["PYDEVD_DISABLE_FILE_VALIDATION"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"python {string.Join(' ', args)} exited {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}
