namespace Attach.Agent.Gpu;

/// <summary>Looks for traces of an NVIDIA driver on the node.</summary>
internal interface INvidiaDeviceProbe
{
    /// <summary>True when the driver's control device (<c>/dev/nvidiactl</c>) exists.</summary>
    bool ControlDeviceExists();

    /// <summary>The full path of <c>nvidia-smi</c> when it is on <c>PATH</c>; otherwise null.</summary>
    string? FindNvidiaSmi();
}
