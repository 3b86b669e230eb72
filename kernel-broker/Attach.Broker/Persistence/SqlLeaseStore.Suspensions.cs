using System.Globalization;
using Attach.Broker.Kernels;

namespace Attach.Broker.Persistence;

internal abstract partial class SqlLeaseStore
{
    public IReadOnlyList<StoredSuspension> LoadSuspensions() => Use(connection =>
    {
        var suspensions = new List<StoredSuspension>();
        using var command = connection.CreateCommand();
        command.CommandText =
            "SELECT kernel_id, node_id, gpu_index, gpu_name, pid, bytes, slice_memory_mib, suspended_at FROM suspended_kernels ORDER BY kernel_id";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            suspensions.Add(new StoredSuspension(
                reader.GetString(0),
                new SuspendedProcess(
                    reader.GetString(1),
                    reader.GetInt32(2),
                    reader.GetString(3),
                    reader.GetInt32(4),
                    reader.IsDBNull(5) ? null : reader.GetInt64(5),
                    reader.GetInt64(6),
                    DateTimeOffset.Parse(reader.GetString(7), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind))));
        }

        return (IReadOnlyList<StoredSuspension>)suspensions;
    });

    public void SetSuspension(string kernelId, SuspendedProcess? suspension)
    {
        if (suspension is null)
        {
            Execute("DELETE FROM suspended_kernels WHERE kernel_id = @id", ("@id", kernelId));
            return;
        }

        Execute(
            "INSERT INTO suspended_kernels (kernel_id, node_id, gpu_index, gpu_name, pid, bytes, slice_memory_mib, suspended_at) " +
            "VALUES (@id, @node, @gpu, @name, @pid, @bytes, @slice, @at) " +
            "ON CONFLICT (kernel_id) DO UPDATE SET node_id = excluded.node_id, gpu_index = excluded.gpu_index, gpu_name = excluded.gpu_name, " +
            "pid = excluded.pid, bytes = excluded.bytes, slice_memory_mib = excluded.slice_memory_mib, suspended_at = excluded.suspended_at",
            ("@id", kernelId),
            ("@node", suspension.NodeId),
            ("@gpu", suspension.GpuIndex),
            ("@name", suspension.GpuName),
            ("@pid", suspension.Pid),
            ("@bytes", suspension.Bytes is { } bytes ? bytes : DBNull.Value),
            ("@slice", suspension.SliceMemoryMiB),
            ("@at", suspension.SuspendedAt.ToString("O", CultureInfo.InvariantCulture)));
    }
}
