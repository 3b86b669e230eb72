using System.Globalization;
using System.Text.Json;

namespace Attach.Agent.Slices;

/// <summary>
/// The ledger as a JSON file, <c>ledger.json</c> under <see cref="AgentOptions.StateDirectory"/>. A save writes a
/// temporary file in the same directory, flushes it to the disk and renames it over the ledger, so a crash at any
/// point leaves either the old or the new ledger. A file that cannot be read is copied aside and reported: the
/// agent must not start as if it held nothing.
/// </summary>
internal sealed class LedgerFile : ILedgerStore
{
    /// <summary>The ledger's file name in the state directory.</summary>
    public const string FileName = "ledger.json";

    /// <summary>The system-wide state directory, for an agent running as root (the DaemonSet, the systemd unit).</summary>
    public const string SystemDirectory = "/var/lib/attach/agent";

    private const string TempSuffix = ".tmp";
    private const string CorruptSuffix = ".corrupt-";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerOptions.Web) { WriteIndented = true };

    private readonly string _path;
    private readonly string _tempPath;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<LedgerFile> _logger;

    public LedgerFile(string directory, TimeProvider timeProvider, ILogger<LedgerFile> logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        StateDirectory = Path.GetFullPath(directory);
        _path = Path.Combine(StateDirectory, FileName);
        _tempPath = _path + TempSuffix;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The state directory (absolute).</summary>
    public string StateDirectory { get; }

    public string Location => _path;

    /// <summary>
    /// Root: <see cref="SystemDirectory"/>. Anyone else cannot create <c>/var/lib/attach</c>, so <c>.attach/agent</c>
    /// under the working directory, where <c>make run</c> keeps the rest of its state.
    /// </summary>
    public static string DefaultDirectory() => DefaultDirectory(Environment.IsPrivilegedProcess);

    internal static string DefaultDirectory(bool privileged) => privileged ? SystemDirectory : Path.Combine(".attach", "agent");

    public LedgerDocument? Load()
    {
        if (File.Exists(_tempPath))
        {
            // A save that did not reach its rename: the ledger beside it is the last complete state.
            _logger.LedgerTempFileIgnored(_tempPath);
            File.Delete(_tempPath);
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(_path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }

        LedgerDocument? document;
        try
        {
            document = JsonSerializer.Deserialize<LedgerDocument>(bytes, Json);
        }
        catch (JsonException ex)
        {
            throw Corrupt($"it is not a valid ledger ({ex.Message})", ex);
        }

        return Check(document) is { } problem ? throw Corrupt(problem, null) : document;
    }

    public void Save(LedgerDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        Directory.CreateDirectory(StateDirectory);
        using (var stream = new FileStream(_tempPath, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, document, Json);
            // fsync before the rename: otherwise a power cut can leave the renamed file empty.
            stream.Flush(flushToDisk: true);
        }

        // rename(2) replaces the ledger atomically. (The directory entry itself is not fsynced; after a power cut
        // the previous ledger may come back, which the broker's reconciliation corrects, but never a torn one.)
        File.Move(_tempPath, _path, overwrite: true);
    }

    private static string? Check(LedgerDocument? document)
    {
        if (document is null)
        {
            return "it holds no ledger (null)";
        }

        if (document.Version != LedgerDocument.CurrentVersion)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"it is in format version {document.Version}; this agent reads version {LedgerDocument.CurrentVersion} (was it written by another agent version?)");
        }

        if (document.Bindings is null || document.Retired is null)
        {
            return "its bindings or retired leases are missing";
        }

        if (document.Bindings.Any(binding => binding is null || string.IsNullOrWhiteSpace(binding.LeaseId) || string.IsNullOrWhiteSpace(binding.KernelId)
                || binding.Gpu is null || binding.Environment is null))
        {
            return "a binding lacks its lease id, kernel id, GPU or environment";
        }

        if (document.Bindings.GroupBy(binding => binding.LeaseId, StringComparer.Ordinal).FirstOrDefault(group => group.Count() > 1) is { } duplicate)
        {
            return $"lease '{duplicate.Key}' is bound twice";
        }

        return document.Retired.Any(retired => retired is null || string.IsNullOrWhiteSpace(retired.LeaseId)) ? "a retired lease lacks its id" : null;
    }

    private LedgerCorruptException Corrupt(string problem, Exception? inner)
    {
        var copy = _path + CorruptSuffix + _timeProvider.GetUtcNow().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        // A copy, not a move: the ledger stays where it is, so every later start refuses too until someone decides.
        File.Copy(_path, copy, overwrite: true);
        _logger.LedgerCorrupt(_path, problem, copy);
        var message =
            $"The slice ledger {_path} cannot be read: {problem}. A copy was kept as {copy}. The agent does not start without its ledger, " +
            "because forgetting the bindings it records could hand a GPU that a process still uses to another kernel. Repair the file, or, " +
            "once no process on this node uses a GPU (see nvidia-smi), delete it; then start the agent again.";
        return inner is null ? new LedgerCorruptException(message) : new LedgerCorruptException(message, inner);
    }
}
