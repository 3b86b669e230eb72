using System.Diagnostics;
using System.Net.Http.Headers;
using Attach.Testing;
using Attach.Testing.Processes;

namespace Attach.BrowserTests.Badge;

/// <summary>
/// Takes the deployment's broker (and with it the hub) away for real, and brings a new broker up on the same port
/// and store, as a broker restart does.
/// </summary>
internal static class BrokerOutage
{
    /// <summary>Kills the broker process this deployment started, found by the port it was told to listen on.</summary>
    public static void Kill(EmbeddedDeployment deployment)
    {
        var urls = $"--urls\0{deployment.BrokerUrl.ToString().TrimEnd('/')}";
        foreach (var dir in Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            string cmdline;
            try
            {
                cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            if (cmdline.Contains("Attach.Broker.dll", StringComparison.Ordinal) && cmdline.Contains(urls, StringComparison.Ordinal))
            {
                using var process = Process.GetProcessById(int.Parse(Path.GetFileName(dir), System.Globalization.CultureInfo.InvariantCulture));
                process.Kill();
                process.WaitForExit();
                return;
            }
        }

        throw new InvalidOperationException($"no broker process listening on {deployment.BrokerUrl} was found");
    }

    /// <summary>Starts a broker as the deployment did, on the same port and store; returns once it answers.</summary>
    public static async Task<ManagedProcess> RestartAsync(EmbeddedDeployment deployment)
    {
        var broker = ManagedProcess.Start("broker-restarted", "dotnet",
            [RepositoryPaths.ServiceDll("kernel-broker/Attach.Broker"), "--urls", deployment.BrokerUrl.ToString().TrimEnd('/')],
            new Dictionary<string, string>
            {
                ["Broker__IdleTimeout"] = deployment.IdleTimeout.ToString("c"),
                ["Broker__Store__Path"] = Path.Combine(deployment.NotebookDirectory, ".broker-state", "broker.db"),
                ["Attach__InternalKey"] = deployment.InternalKey,
                ["DOTNET_ENVIRONMENT"] = "Development",
                ["ASPNETCORE_ENVIRONMENT"] = "Development",
            });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await broker.WaitUntilReadyAsync(async () =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(deployment.BrokerUrl, "api/v1/pool"));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", deployment.InternalKey);
            using var response = await http.SendAsync(request);
            return response.IsSuccessStatusCode;
        }, TimeSpan.FromSeconds(60));
        return broker;
    }
}
