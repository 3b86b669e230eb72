using Attach.Broker;
using Attach.Broker.Apis;
using Attach.Broker.History;
using Attach.Broker.Hubs;
using Attach.Broker.Leadership;
using Attach.Broker.Metrics;
using Attach.Contracts.Hubs;
using Attach.ServiceDefaults.Logging;
using Attach.ServiceDefaults.Security;

var builder = WebApplication.CreateBuilder(args);
builder.AddAttachLogging("broker");
builder.AddInternalKeyAuthentication();
builder.AddBroker();
builder.AddBrokerMetrics();
builder.AddBrokerLeadership();

var app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseAuthentication();
app.UseAuthorization();
app.UseLeadershipGate();
app.MapKernelsApi();
app.MapPoolApi();
app.MapPoolHistoryApi();
app.MapNodesApi();
app.MapQueueApi();
app.MapBrokerMetrics();
app.MapLeadershipApi();
app.MapHub<AttachHub>(AttachHubProtocol.Path);
app.Run();

/// <summary>The broker's entry point; public for WebApplicationFactory.</summary>
public partial class Program;
