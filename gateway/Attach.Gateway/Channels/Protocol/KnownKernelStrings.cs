using System.Text;
using System.Text.Json;

namespace Attach.Gateway.Channels.Protocol;

/// <summary>
/// Shared instances of the message types and execution states of the Jupyter messaging spec.
/// Every message carries a msg_type and every status message an execution_state; returning a
/// cached string for the well-known values keeps the relay's per-message allocations to the ids.
/// </summary>
internal static class KnownKernelStrings
{
    private static readonly string[] Values =
    [
        "status", "stream", "display_data", "update_display_data", "execute_input", "execute_result",
        "execute_request", "execute_reply", "error", "clear_output",
        "comm_open", "comm_msg", "comm_close", "comm_info_request", "comm_info_reply",
        "kernel_info_request", "kernel_info_reply", "complete_request", "complete_reply",
        "inspect_request", "inspect_reply", "is_complete_request", "is_complete_reply",
        "history_request", "history_reply", "input_request", "input_reply",
        "interrupt_request", "interrupt_reply", "shutdown_request", "shutdown_reply",
        "debug_request", "debug_reply", "debug_event",
        "busy", "idle", "starting",
    ];

    private static readonly byte[][] Utf8Values = Array.ConvertAll(Values, Encoding.UTF8.GetBytes);

    /// <summary>
    /// Reads the current string token, returning a shared instance when it is a well-known value.
    /// </summary>
    /// <exception cref="InvalidOperationException">The token is not a string or is not valid UTF-8.</exception>
    public static string GetString(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            var value = reader.ValueSpan;
            for (var i = 0; i < Utf8Values.Length; i++)
            {
                if (value.SequenceEqual(Utf8Values[i]))
                {
                    return Values[i];
                }
            }
        }

        return reader.GetString()!;
    }
}
