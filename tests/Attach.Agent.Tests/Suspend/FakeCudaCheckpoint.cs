using System.Globalization;
using Attach.Contracts.Pool;

namespace Attach.Agent.Tests.Suspend;

/// <summary>
/// A stand-in for NVIDIA's <c>cuda-checkpoint</c>, written as a bash script into a temporary directory. It keeps
/// each process's state in a file and behaves as the real utility documents: <c>--help</c> lists the options of
/// the driver version it pretends to be; <c>--get-state</c> prints the state; <c>--action</c> allows lock only
/// from running, checkpoint only from locked, restore only from checkpointed and unlock only from locked, prints
/// nothing on success, and on failure prints <c>Could not &lt;action&gt; on process ID &lt;pid&gt;: "&lt;error&gt;"</c> to
/// stderr and exits with the CUDA error code truncated to 8 bits (NVIDIA/cuda-checkpoint#35, criu#2540).
/// A process it has no file for has no CUDA state ("invalid argument").
/// </summary>
internal sealed class FakeCudaCheckpoint : IDisposable
{
    /// <summary>The help text of driver 580 (NVIDIA/cuda-checkpoint#18), with <c>--device-map</c>.</summary>
    public const string Version580 = "580.65.06";

    /// <summary>Driver 570: separate actions and lock timeout, no device map.</summary>
    public const string Version570 = "570.86.10";

    /// <summary>Driver 550: only <c>--toggle</c>.</summary>
    public const string Version550 = "550.54.14";

    private const string Script = """
        #!/bin/bash
        # Fake cuda-checkpoint for the agent's tests (see FakeCudaCheckpoint.cs).
        dir='@STATE@'
        echo "$*" >> "$dir/calls.log"
        version=$(cat "$dir/version")
        op= action= pid= timeout= map=
        while [ $# -gt 0 ]; do
          case "$1" in
            --help|-h) op=help; shift ;;
            --get-state) op=get-state; shift ;;
            --action) op=action; action="$2"; shift 2 ;;
            --pid|-p) pid="$2"; shift 2 ;;
            --timeout|-t) timeout="$2"; shift 2 ;;
            --device-map|-d) map="$2"; shift 2 ;;
            *) echo "Unknown argument: $1" >&2; exit 1 ;;
          esac
        done
        if [ "$op" = help ]; then
          echo "CUDA checkpoint and restore utility."
          echo "Version $version. Copyright (C) 2025 NVIDIA Corporation. All rights reserved."
          echo
          echo "Operations:"
          echo "--get-state --pid <pid>"
          echo "	Prints the current checkpoint state of the process specified by <pid>"
          case "$version" in
            550.*) ;;
            580.*)
              echo "--action lock | checkpoint | restore | unlock --pid <pid> [--timeout <ms>] [--device-map <uuids>]"
              echo "	For the restore action a device map can be provided in the format oldUuid=newUuid,oldUuid=newUuid,..." ;;
            *) echo "--action lock | checkpoint | restore | unlock --pid <pid> [--timeout <ms>]" ;;
          esac
          echo "--toggle --pid <pid>"
          echo "	Toggles the CUDA state in the specified process between the running and checkpointed states"
          exit 0
        fi
        file="$dir/pid-$pid"
        fail() { echo "Could not $1 on process ID $pid: \"$2\"" >&2; exit "$3"; }
        if [ ! -f "$file" ]; then
          if [ "$op" = get-state ]; then fail "get state" "invalid argument" 1; fi
          fail "$action" "invalid argument" 1
        fi
        state=$(cat "$file")
        if [ "$op" = get-state ]; then echo "$state"; exit 0; fi
        if [ -f "$dir/delay-$action" ]; then sleep "$(cat "$dir/delay-$action")"; fi
        if [ -f "$dir/fail-$action" ]; then
          read -r code text < "$dir/fail-$action"
          fail "$action" "$text" "$code"
        fi
        case "$action:$state" in
          lock:running) next=locked ;;
          checkpoint:locked) next=checkpointed ;;
          restore:checkpointed) next=locked ;;
          unlock:locked) next=running ;;
          *) fail "$action" "the operation cannot be performed in the present state" 145 ;;
        esac
        echo "$next" > "$file"
        exit 0
        """;

    private readonly DirectoryInfo _directory;

    public FakeCudaCheckpoint(string version = Version580, bool executable = true)
    {
        _directory = Directory.CreateTempSubdirectory("attach-cuda-checkpoint-");
        Path = System.IO.Path.Combine(_directory.FullName, "cuda-checkpoint");
        File.WriteAllText(System.IO.Path.Combine(_directory.FullName, "version"), version);
        File.WriteAllText(System.IO.Path.Combine(_directory.FullName, "calls.log"), "");
        File.WriteAllText(Path, Script.Replace("@STATE@", _directory.FullName, StringComparison.Ordinal).ReplaceLineEndings("\n"));
        // The agent runs on Linux only; a bash script needs a Unix file mode anyway.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path, executable
                ? UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                : UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }

    /// <summary>The script's full path.</summary>
    public string Path { get; }

    /// <summary>Every command line it was run with, in order.</summary>
    public IReadOnlyList<string> Calls =>
        File.ReadAllLines(System.IO.Path.Combine(_directory.FullName, "calls.log")).Where(line => line.Length > 0).ToArray();

    /// <summary>The command lines of <c>--action</c> runs only.</summary>
    public IReadOnlyList<string> Actions => Calls.Where(call => call.StartsWith("--action", StringComparison.Ordinal)).ToArray();

    /// <summary>Makes <paramref name="pid"/> a process with CUDA state.</summary>
    public void Process(int pid, CudaProcessState state = CudaProcessState.Running) =>
        File.WriteAllText(StateFile(pid), state.ToString().ToLowerInvariant() + "\n");

    /// <summary>The state the fake holds for <paramref name="pid"/>.</summary>
    public string StateOf(int pid) => File.ReadAllText(StateFile(pid)).Trim();

    /// <summary>Makes <paramref name="action"/> take <paramref name="seconds"/> before it acts.</summary>
    public void Delay(string action, double seconds) =>
        File.WriteAllText(System.IO.Path.Combine(_directory.FullName, $"delay-{action}"), seconds.ToString(CultureInfo.InvariantCulture));

    /// <summary>Makes <paramref name="action"/> fail as the driver does with <paramref name="cudaError"/>.</summary>
    public void Fail(string action, int cudaError, string text) =>
        File.WriteAllText(System.IO.Path.Combine(_directory.FullName, $"fail-{action}"), string.Create(CultureInfo.InvariantCulture, $"{cudaError & 0xFF} {text}\n"));

    public void Dispose() => _directory.Delete(recursive: true);

    private string StateFile(int pid) => System.IO.Path.Combine(_directory.FullName, string.Create(CultureInfo.InvariantCulture, $"pid-{pid}"));
}
