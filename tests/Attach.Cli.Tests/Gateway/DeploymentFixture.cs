using Attach.Testing;

namespace Attach.Cli.Tests.Gateway;

/// <summary>
/// A real deployment (Jupyter Server, broker, agent with a simulated pool, gateway) for the commands that
/// talk to the gateway. The idle timeout is long, so a slice stays until a test releases it.
/// </summary>
public sealed class DeploymentFixture : IAsyncLifetime
{
    public EmbeddedDeployment Deployment { get; } = new() { IdleTimeout = TimeSpan.FromMinutes(10) };

    public Task InitializeAsync() => Deployment.StartAsync();

    public Task DisposeAsync() => Deployment.DisposeAsync().AsTask();
}

[CollectionDefinition(Name)]
public sealed class DeploymentCollection : ICollectionFixture<DeploymentFixture>
{
    public const string Name = "cli deployment";
}
