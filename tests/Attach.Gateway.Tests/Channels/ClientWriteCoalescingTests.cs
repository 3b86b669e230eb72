using Attach.Gateway.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Moq;

namespace Attach.Gateway.Tests.Channels;

public sealed class ClientWriteCoalescingTests
{
    [Fact]
    public async Task AKernelChannelUpgrade_GetsACoalescingStream_TheRelayFindsAgain()
    {
        var inner = new MemoryStream();
        var context = await RunAsync("/user/ada/api/kernels/k1/channels", inner);

        var upgraded = await context.Features.Get<IHttpUpgradeFeature>()!.UpgradeAsync();

        var stream = Assert.IsType<CoalescingStream>(upgraded);
        Assert.Same(stream, ClientWriteCoalescing.Of(context));
    }

    [Fact]
    public async Task AnotherUpgrade_KeepsItsOwnStream()
    {
        var inner = new MemoryStream();
        var context = await RunAsync("/user/ada/terminals/websocket/1", inner);

        Assert.Same(inner, await context.Features.Get<IHttpUpgradeFeature>()!.UpgradeAsync());
        Assert.Null(ClientWriteCoalescing.Of(context));
    }

    [Fact]
    public async Task BeforeTheUpgrade_ThereIsNoStreamToFind()
    {
        var context = await RunAsync("/api/kernels/k1/channels", new MemoryStream());

        Assert.Null(ClientWriteCoalescing.Of(context));
    }

    private static async Task<HttpContext> RunAsync(string path, Stream upgradedStream)
    {
        var upgrade = new Mock<IHttpUpgradeFeature>();
        upgrade.SetupGet(u => u.IsUpgradableRequest).Returns(true);
        upgrade.Setup(u => u.UpgradeAsync()).ReturnsAsync(upgradedStream);
        var context = new DefaultHttpContext();
        context.Request.Path = path;
        context.Features.Set(upgrade.Object);

        var app = new ApplicationBuilder(new Mock<IServiceProvider>().Object);
        app.UseClientWriteCoalescing();
        app.Run(_ => Task.CompletedTask);
        await app.Build()(context);
        return context;
    }
}
