using Attach.Gateway;
using Attach.Gateway.Channels;
using Attach.Gateway.Security;
using Attach.ServiceDefaults.Logging;

var builder = WebApplication.CreateBuilder(args);
builder.AddAttachLogging("gateway");
builder.AddGateway();

var app = builder.Build();
app.UseWebSockets();
app.UseAuthentication();
app.UseTokenLogin();
app.UseSameOriginForCookies();
app.UseAuthorization();
app.UseKernelInterrupts();
app.MapKernelChannels();
app.MapReverseProxy();
app.Run();

/// <summary>The gateway's entry point; public for WebApplicationFactory.</summary>
public partial class Program;
