namespace Attach.Broker.Detection;

/// <summary>
/// Builds the detector and runs its rules once at start, so the first cell of the day is classified as fast as
/// any other (regex construction and the first match's compilation happen here, not on a user's cell).
/// </summary>
internal sealed class DetectorWarmUp(GpuWorkDetector detector) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = detector.Classify("import torch\nx = torch.ones(3)  # warm-up\ny = x.cuda()\n");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
