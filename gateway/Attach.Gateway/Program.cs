using Attach.Gateway;
using Attach.Gateway.Channels;
using Attach.Gateway.ConfigurableProxy;
using Attach.Gateway.Pages;
using Attach.Gateway.Security;
using Attach.Gateway.Users;
using Attach.ServiceDefaults.Logging;

if (HashTokenCommand.TryRun(args, Console.IsInputRedirected ? Console.In : null, Console.Out, Console.Error, out var exitCode))
{
    return exitCode;
}

var builder = WebApplication.CreateBuilder(args);
builder.AddAttachLogging("gateway");
builder.AddGateway();

var app = builder.Build();
app.UseClientWriteCoalescing();
app.UseWebSockets();
app.UseJupyterHubRoutes();
app.UseAuthentication();
app.UseTokenLogin();
app.UseSameOriginForCookies();
app.UseAuthorization();
app.UseUserRouteGuard();
app.UseKernelInterrupts();
app.MapLoginPage();
app.MapKernelChannels();
app.MapUserKernelChannels();
app.MapAttachPages();
app.MapReverseProxy();
app.Run();
return 0;

/// <summary>The gateway's entry point; public for WebApplicationFactory.</summary>
public partial class Program;
