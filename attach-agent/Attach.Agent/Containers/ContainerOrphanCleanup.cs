using Microsoft.Extensions.Options;

namespace Attach.Agent.Containers;

/// <summary>
/// When the agent starts: says whether containers can run (disabled, no engine, or which engine), then removes
/// the containers of this node whose lease the ledger does not hold. It runs in the background, so an absent or
/// slow engine never delays or stops the agent's start.
/// </summary>
internal sealed class ContainerOrphanCleanup(ContainerRunner runner, IOptions<ContainerOptions> options, ILogger<ContainerOrphanCleanup> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            logger.ContainersDisabled();
            return;
        }

        var version = await runner.GetEngineVersionAsync(stoppingToken);
        if (!version.Succeeded)
        {
            logger.DockerUnavailable(version.Failure.Detail);
            return;
        }

        logger.DockerEngineFound(version.Value.Version, version.Value.APIVersion, settings.DockerUri);
        if (settings.RemoveOrphansOnStart)
        {
            var cleaned = await runner.RemoveOrphansAsync(stoppingToken);
            if (!cleaned.Succeeded)
            {
                logger.DockerUnavailable(cleaned.Failure.Detail);
            }
        }
    }
}
