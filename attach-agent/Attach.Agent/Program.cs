using Attach.Agent;
using Attach.Agent.Apis;
using Attach.ServiceDefaults.Logging;
using Attach.ServiceDefaults.Security;

var builder = WebApplication.CreateBuilder(args);
builder.AddAttachLogging("agent");
builder.AddInternalKeyAuthentication(); // every route requires Authorization: Bearer <Attach:InternalKey>
builder.AddAgent();

var app = builder.Build();
// Problem details for every error, including bodies that do not parse and requests without the key.
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseAuthentication();
app.UseAuthorization();

app.MapGpusApi();
app.MapBindingsApi();
app.MapSuspendApi();
app.MapContainersApi();

app.Run();

/// <summary>The agent's entry point; public for <c>WebApplicationFactory</c>.</summary>
public partial class Program;
