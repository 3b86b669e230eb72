using Attach.Testing;

namespace Attach.IntegrationTests;

/// <summary>One real deployment (Jupyter Server, broker, agent, gateway) shared by the tests of a collection.</summary>
public sealed class EmbeddedDeploymentFixture : IAsyncLifetime
{
    public EmbeddedDeployment Deployment { get; } = new();

    public Task InitializeAsync() => Deployment.StartAsync();

    public Task DisposeAsync() => Deployment.DisposeAsync().AsTask();
}

[CollectionDefinition(Name)]
public sealed class EmbeddedDeploymentCollection : ICollectionFixture<EmbeddedDeploymentFixture>
{
    public const string Name = "embedded deployment";
}

/// <summary>The same deployment with the classic Notebook 6 server, as <c>make run</c> starts it.</summary>
public sealed class Notebook6DeploymentFixture : IAsyncLifetime
{
    public EmbeddedDeployment Deployment { get; } = new() { Flavor = JupyterFlavor.Notebook6 };

    public Task InitializeAsync() => Deployment.StartAsync();

    public Task DisposeAsync() => Deployment.DisposeAsync().AsTask();
}

[CollectionDefinition(Name)]
public sealed class Notebook6DeploymentCollection : ICollectionFixture<Notebook6DeploymentFixture>
{
    public const string Name = "notebook 6 deployment";
}
