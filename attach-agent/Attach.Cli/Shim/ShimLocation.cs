namespace Attach.Cli.Shim;

/// <summary>Where libattach.so is, how it was found, and whether it exists (an explicit --shim need not).</summary>
internal sealed record ShimLocation(string Path, string Source, bool Exists);
