using System.Net;
using System.Net.Http.Json;
using Attach.Testing;
using Attach.Testing.Jupyter;

namespace Attach.IntegrationTests;

/// <summary>
/// What a user of <c>make run</c> gets: the classic Notebook UI through the gateway, its pages free of
/// the Jupyter token, and GPU cells attached over the legacy protocol it speaks.
/// </summary>
[Collection(Notebook6DeploymentCollection.Name)]
public sealed class Notebook6Tests(Notebook6DeploymentFixture fixture)
{
    private readonly EmbeddedDeployment _deployment = fixture.Deployment;

    [Fact]
    public async Task NotebookPages_OpenThroughTheGateway_WithoutTheJupyterToken()
    {
        using var gateway = _deployment.GatewayClient();
        using var put = await gateway.PutAsJsonAsync("api/contents/demo.ipynb", new
        {
            type = "notebook",
            content = new { cells = Array.Empty<object>(), metadata = new { }, nbformat = 4, nbformat_minor = 5 },
        });
        put.EnsureSuccessStatusCode();
        using var handler = new HttpClientHandler { UseCookies = true };
        using var browser = new HttpClient(handler) { BaseAddress = _deployment.GatewayUrl };
        browser.DefaultRequestHeaders.Accept.ParseAdd("text/html");

        foreach (var page in new[] { $"tree?token={_deployment.GatewayToken}", "tree", "notebooks/demo.ipynb" })
        {
            using var response = await browser.GetAsync(page);
            var html = await response.Content.ReadAsStringAsync();

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Contains("<title>", html, StringComparison.Ordinal);
            Assert.Contains("data-jupyter-api-token=\"\"", html, StringComparison.Ordinal);
            Assert.DoesNotContain(_deployment.JupyterToken, html, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ClientOfferingV1_GetsLegacy_BecauseThatIsWhatTheServerSpeaks()
    {
        var kernelId = await _deployment.StartKernelAsync();

        await using var kernel = await KernelChannelClient.ConnectAsync(_deployment.GatewayUrl, kernelId, _deployment.GatewayToken, KernelChannelClient.V1, CancellationToken.None);
        var messages = await kernel.CollectUntilDoneAsync(await kernel.SendExecuteRequestAsync("import sys\nprint(sys.version_info[0])", CancellationToken.None), TimeSpan.FromSeconds(60));

        Assert.Null(kernel.SubProtocol);
        Assert.Contains(messages, m => m.Printed("3"));
    }

    [Fact]
    public async Task GpuCell_IsAttachedBeforeItRuns()
    {
        var kernelId = await _deployment.StartKernelAsync();
        await using var kernel = await KernelChannelClient.ConnectAsync(_deployment.GatewayUrl, kernelId, _deployment.GatewayToken, null, CancellationToken.None);

        var messages = (await kernel.CollectUntilDoneAsync(await kernel.SendExecuteRequestAsync("import os\nx = 'tensor'.upper()  # then x.cuda()\nprint(x); device='cuda'", CancellationToken.None), TimeSpan.FromSeconds(60))).ToList();

        var attach = messages.FindIndex(m => m.Text?.StartsWith("attach: GPU ", StringComparison.Ordinal) == true);
        var output = messages.FindIndex(m => m.Printed("TENSOR"));
        Assert.True(attach >= 0 && output > attach, string.Join(", ", messages));
    }
}
