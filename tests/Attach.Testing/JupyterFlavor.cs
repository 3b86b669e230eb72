namespace Attach.Testing;

/// <summary>The Jupyter servers Debian ships, both of which users put behind Attach.</summary>
public enum JupyterFlavor
{
    /// <summary>jupyter_server 1.23: speaks the legacy and the v1 kernel protocol.</summary>
    JupyterServer,

    /// <summary>The classic Notebook 6.4 server and UI (what <c>make run</c> starts): legacy protocol only.</summary>
    Notebook6,
}
