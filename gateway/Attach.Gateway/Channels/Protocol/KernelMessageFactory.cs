using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Attach.Gateway.Channels.Protocol;

/// <summary>
/// Builds the messages the gateway injects into a client's kernel-channel socket, shaped as the
/// kernel (ipykernel 6) and jupyter_server would have sent them and parented to a client request,
/// so that JupyterLab 4, Notebook 6 and VS Code route them to the cell that made the request.
/// </summary>
/// <remarks>
/// <para>
/// Clients match replies and outputs to requests by <c>parent_header.msg_id</c> only, so the
/// parent header is embedded verbatim. The header's <c>session</c> is the parent's session (the
/// client's own): that is what jupyter_server itself puts on the messages it injects
/// (<c>write_stderr</c> uses a Session whose id is the client's <c>session_id</c>), and a client
/// that ever filters by session then treats the message as belonging to it.
/// </para>
/// <para>
/// Legacy messages are text frames laid out as jupyter_server's <c>_reserialize_reply</c> writes
/// them (header, msg_id, msg_type, parent_header, metadata, content, buffers, channel); v1
/// messages are binary frames laid out as <c>serialize_msg_to_ws_v1</c> writes them.
/// </para>
/// </remarks>
internal sealed class KernelMessageFactory(TimeProvider timeProvider)
{
    private const string Username = "attach";
    private const string ProtocolVersion = "5.3";

    // "yyyy-MM-ddTHH:mm:ss.ffffffZ": microseconds with 'Z', exactly as jupyter_client formats dates.
    private const string DateFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";
    private const int DateLength = 27;
    private const int GuidLength = 36;

    // v1 frames the gateway writes never carry buffers: channel + 4 JSON parts → 6 offsets.
    private const int V1OffsetNumber = 6;
    private const int V1TableLength = sizeof(ulong) * (1 + V1OffsetNumber);

    // The JSON is never embedded in HTML, so escaping '<', '&' or non-ASCII (the default encoder
    // does) would only make frames larger; quotes and control characters are still escaped.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // Used only when the parent carries no session, as jupyter_server falls back to its own Session id.
    private readonly string _fallbackSession = Guid.NewGuid().ToString();

    /// <summary>An iopub <c>stream</c> message: text for the cell's stdout or stderr.</summary>
    /// <param name="protocol">The socket's wire protocol.</param>
    /// <param name="parentHeaderJson">The header of the client request this answers (a JSON object).</param>
    /// <param name="name">"stdout" or "stderr".</param>
    /// <param name="text">The text to append to the cell's output.</param>
    /// <exception cref="ArgumentException"><paramref name="parentHeaderJson"/> is not a JSON object.</exception>
    public KernelFrame Stream(KernelWireProtocol protocol, ReadOnlyMemory<byte> parentHeaderJson, string name, string text)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(text);
        return Build(protocol, KernelChannelNames.IoPub, "stream", parentHeaderJson, (name, text), static (writer, state) =>
        {
            writer.WriteString("name"u8, state.name);
            writer.WriteString("text"u8, state.text);
        });
    }

    /// <summary>An iopub <c>status</c> message, which clients use to show the kernel busy or idle.</summary>
    /// <param name="protocol">The socket's wire protocol.</param>
    /// <param name="parentHeaderJson">The header of the client request this answers (a JSON object).</param>
    /// <param name="executionState">"busy" or "idle".</param>
    /// <exception cref="ArgumentException"><paramref name="parentHeaderJson"/> is not a JSON object.</exception>
    public KernelFrame Status(KernelWireProtocol protocol, ReadOnlyMemory<byte> parentHeaderJson, string executionState)
    {
        ArgumentException.ThrowIfNullOrEmpty(executionState);
        return Build(protocol, KernelChannelNames.IoPub, "status", parentHeaderJson, executionState, static (writer, state) =>
            writer.WriteString("execution_state"u8, state));
    }

    /// <summary>An iopub <c>error</c> message: the traceback clients render in the cell's output.</summary>
    /// <param name="protocol">The socket's wire protocol.</param>
    /// <param name="parentHeaderJson">The header of the client request this answers (a JSON object).</param>
    /// <param name="ename">The error's name, shown first.</param>
    /// <param name="evalue">The error's message.</param>
    /// <param name="traceback">Lines to render; clients show these rather than ename/evalue when present.</param>
    /// <exception cref="ArgumentException"><paramref name="parentHeaderJson"/> is not a JSON object.</exception>
    public KernelFrame Error(KernelWireProtocol protocol, ReadOnlyMemory<byte> parentHeaderJson, string ename, string evalue, IReadOnlyList<string> traceback)
    {
        ValidateError(ename, evalue, traceback);
        return Build(protocol, KernelChannelNames.IoPub, "error", parentHeaderJson, (ename, evalue, traceback), static (writer, state) =>
            WriteErrorFields(writer, state.ename, state.evalue, state.traceback));
    }

    /// <summary>
    /// A shell <c>execute_reply</c> with status error, which ends the request's execution in the client.
    /// </summary>
    /// <remarks>
    /// The content is ipykernel's error reply. <c>execution_count</c> is 0: the spec types it as an
    /// integer and strictly typed clients (Rust <c>jupyter-protocol</c>, .NET Interactive) fail to
    /// read null, while the kernel's real counter is unknown here. JupyterLab stores
    /// <c>count || null</c>, so 0 shows the same blank prompt as null; Notebook 6 shows "In [0]".
    /// </remarks>
    /// <param name="protocol">The socket's wire protocol.</param>
    /// <param name="parentHeaderJson">The header of the execute_request this answers (a JSON object).</param>
    /// <param name="ename">The error's name.</param>
    /// <param name="evalue">The error's message.</param>
    /// <param name="traceback">The traceback lines.</param>
    /// <exception cref="ArgumentException"><paramref name="parentHeaderJson"/> is not a JSON object.</exception>
    public KernelFrame ExecuteReplyError(KernelWireProtocol protocol, ReadOnlyMemory<byte> parentHeaderJson, string ename, string evalue, IReadOnlyList<string> traceback)
    {
        ValidateError(ename, evalue, traceback);
        return Build(protocol, KernelChannelNames.Shell, "execute_reply", parentHeaderJson, (ename, evalue, traceback), static (writer, state) =>
        {
            writer.WriteString("status"u8, "error");
            WriteErrorFields(writer, state.ename, state.evalue, state.traceback);
            writer.WriteNumber("execution_count"u8, 0);
            writer.WriteStartObject("user_expressions"u8);
            writer.WriteEndObject();
            writer.WriteStartArray("payload"u8);
            writer.WriteEndArray();
        });
    }

    /// <summary>
    /// A shell <c>execute_reply</c> with status aborted, as ipykernel sends for requests it drops
    /// after an earlier error: the content is exactly <c>{"status": "aborted"}</c>, no execution_count.
    /// </summary>
    /// <param name="protocol">The socket's wire protocol.</param>
    /// <param name="parentHeaderJson">The header of the execute_request this answers (a JSON object).</param>
    /// <exception cref="ArgumentException"><paramref name="parentHeaderJson"/> is not a JSON object.</exception>
    public KernelFrame ExecuteReplyAborted(KernelWireProtocol protocol, ReadOnlyMemory<byte> parentHeaderJson) =>
        Build(protocol, KernelChannelNames.Shell, "execute_reply", parentHeaderJson, 0, static (writer, _) =>
            writer.WriteString("status"u8, "aborted"));

    /// <summary>
    /// An iopub <c>display_data</c> message with plain text and a <c>transient.display_id</c>, so that later
    /// <see cref="UpdateDisplayData"/> messages with the same id replace it in place (one line that updates).
    /// </summary>
    /// <param name="protocol">The socket's wire protocol.</param>
    /// <param name="parentHeaderJson">The header of the client request this answers (a JSON object).</param>
    /// <param name="displayId">The display's id; clients key updates by it.</param>
    /// <param name="text">The <c>text/plain</c> representation shown in the cell.</param>
    /// <exception cref="ArgumentException"><paramref name="parentHeaderJson"/> is not a JSON object.</exception>
    public KernelFrame DisplayData(KernelWireProtocol protocol, ReadOnlyMemory<byte> parentHeaderJson, string displayId, string text) =>
        Display(protocol, "display_data", parentHeaderJson, displayId, text);

    /// <summary>An iopub <c>update_display_data</c> message: replaces the output shown by <see cref="DisplayData"/> with the same id.</summary>
    /// <param name="protocol">The socket's wire protocol.</param>
    /// <param name="parentHeaderJson">The header of the client request this answers (a JSON object).</param>
    /// <param name="displayId">The id given to the first <see cref="DisplayData"/>.</param>
    /// <param name="text">The new <c>text/plain</c> representation.</param>
    /// <exception cref="ArgumentException"><paramref name="parentHeaderJson"/> is not a JSON object.</exception>
    public KernelFrame UpdateDisplayData(KernelWireProtocol protocol, ReadOnlyMemory<byte> parentHeaderJson, string displayId, string text) =>
        Display(protocol, "update_display_data", parentHeaderJson, displayId, text);

    private KernelFrame Display(KernelWireProtocol protocol, string msgType, ReadOnlyMemory<byte> parentHeaderJson, string displayId, string text)
    {
        ArgumentException.ThrowIfNullOrEmpty(displayId);
        ArgumentNullException.ThrowIfNull(text);
        return Build(protocol, KernelChannelNames.IoPub, msgType, parentHeaderJson, (displayId, text), static (writer, state) =>
        {
            // Content as IPython.display writes it: data, metadata, transient.display_id.
            writer.WriteStartObject("data"u8);
            writer.WriteString("text/plain"u8, state.text);
            writer.WriteEndObject();
            writer.WriteStartObject("metadata"u8);
            writer.WriteEndObject();
            writer.WriteStartObject("transient"u8);
            writer.WriteString("display_id"u8, state.displayId);
            writer.WriteEndObject();
        });
    }

    private static void ValidateError(string ename, string evalue, IReadOnlyList<string> traceback)
    {
        ArgumentNullException.ThrowIfNull(ename);
        ArgumentNullException.ThrowIfNull(evalue);
        ArgumentNullException.ThrowIfNull(traceback);
    }

    private static void WriteErrorFields(Utf8JsonWriter writer, string ename, string evalue, IReadOnlyList<string> traceback)
    {
        writer.WriteString("ename"u8, ename);
        writer.WriteString("evalue"u8, evalue);
        writer.WriteStartArray("traceback"u8);
        foreach (var line in traceback)
        {
            writer.WriteStringValue(line);
        }

        writer.WriteEndArray();
    }

    private KernelFrame Build<TState>(
        KernelWireProtocol protocol,
        string channel,
        string msgType,
        ReadOnlyMemory<byte> parentHeaderJson,
        TState state,
        Action<Utf8JsonWriter, TState> writeContent)
    {
        if (protocol is not (KernelWireProtocol.Legacy or KernelWireProtocol.V1))
        {
            throw new ArgumentOutOfRangeException(nameof(protocol), protocol, "Unknown kernel wire protocol.");
        }

        var parent = parentHeaderJson.Span;
        var session = ReadParentSession(parent) ?? _fallbackSession;
        Span<char> msgId = stackalloc char[GuidLength];
        Guid.NewGuid().TryFormat(msgId, out _);
        Span<char> date = stackalloc char[DateLength];
        timeProvider.GetUtcNow().UtcDateTime.TryFormat(date, out _, DateFormat, CultureInfo.InvariantCulture);

        var buffer = new ArrayBufferWriter<byte>(512 + parent.Length);
        using var writer = new Utf8JsonWriter(buffer, WriterOptions);
        if (protocol == KernelWireProtocol.Legacy)
        {
            writer.WriteStartObject();
            writer.WritePropertyName("header"u8);
            WriteHeader(writer, msgId, msgType, session, date);
            writer.WriteString("msg_id"u8, msgId);
            writer.WriteString("msg_type"u8, msgType);
            writer.WritePropertyName("parent_header"u8);
            WriteParent(writer, parent);
            writer.WriteStartObject("metadata"u8);
            writer.WriteEndObject();
            writer.WriteStartObject("content"u8);
            writeContent(writer, state);
            writer.WriteEndObject();
            writer.WriteStartArray("buffers"u8);
            writer.WriteEndArray();
            writer.WriteString("channel"u8, channel);
            writer.WriteEndObject();
            writer.Flush();
            return new KernelFrame(buffer.WrittenMemory, IsText: true);
        }

        // v1: the four JSON parts are written back to back; each Reset starts a new root value.
        WriteHeader(writer, msgId, msgType, session, date);
        var headerEnd = EndPart(writer, buffer);
        WriteParent(writer, parent);
        var parentEnd = EndPart(writer, buffer);
        writer.WriteStartObject();
        writer.WriteEndObject();
        var metadataEnd = EndPart(writer, buffer);
        writer.WriteStartObject();
        writeContent(writer, state);
        writer.WriteEndObject();
        var contentEnd = EndPart(writer, buffer);

        var channelLength = Encoding.UTF8.GetByteCount(channel);
        var partsStart = V1TableLength + channelLength;
        var frame = new byte[partsStart + contentEnd];
        BinaryPrimitives.WriteUInt64LittleEndian(frame, V1OffsetNumber);
        ReadOnlySpan<int> offsets = [V1TableLength, partsStart, partsStart + headerEnd, partsStart + parentEnd, partsStart + metadataEnd, partsStart + contentEnd];
        for (var i = 0; i < offsets.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(frame.AsSpan(sizeof(ulong) * (i + 1)), (ulong)offsets[i]);
        }

        Encoding.UTF8.GetBytes(channel, frame.AsSpan(V1TableLength));
        buffer.WrittenSpan.CopyTo(frame.AsSpan(partsStart));
        return new KernelFrame(frame, IsText: false);
    }

    private static int EndPart(Utf8JsonWriter writer, ArrayBufferWriter<byte> buffer)
    {
        writer.Flush();
        writer.Reset();
        return buffer.WrittenCount;
    }

    /// <summary>Header fields in the order jupyter_client's <c>msg_header</c> builds them.</summary>
    private static void WriteHeader(Utf8JsonWriter writer, ReadOnlySpan<char> msgId, string msgType, string session, ReadOnlySpan<char> date)
    {
        writer.WriteStartObject();
        writer.WriteString("msg_id"u8, msgId);
        writer.WriteString("msg_type"u8, msgType);
        writer.WriteString("username"u8, Username);
        writer.WriteString("session"u8, session);
        writer.WriteString("date"u8, date);
        writer.WriteString("version"u8, ProtocolVersion);
        writer.WriteEndObject();
    }

    private static void WriteParent(Utf8JsonWriter writer, ReadOnlySpan<byte> parent)
    {
        if (parent.IsEmpty)
        {
            writer.WriteStartObject();
            writer.WriteEndObject();
        }
        else
        {
            // Already checked to be one well-formed object by ReadParentSession.
            writer.WriteRawValue(parent, skipInputValidation: true);
        }
    }

    /// <summary>
    /// Checks the parent is a single JSON object of bounded size and returns its string session, if any.
    /// An empty parent is allowed and means no parent (written as <c>{}</c>).
    /// </summary>
    private static string? ReadParentSession(ReadOnlySpan<byte> parentHeaderJson)
    {
        if (parentHeaderJson.IsEmpty)
        {
            return null;
        }

        if (parentHeaderJson.Length > KernelMessageParser.MaxHeaderBytes)
        {
            throw new ArgumentException($"The parent header is larger than {KernelMessageParser.MaxHeaderBytes} bytes.", nameof(parentHeaderJson));
        }

        try
        {
            var reader = new Utf8JsonReader(parentHeaderJson);
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new ArgumentException("The parent header is not a JSON object.", nameof(parentHeaderJson));
            }

            string? session = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isSession = reader.ValueTextEquals("session"u8);
                reader.Read();
                if (isSession && reader.TokenType == JsonTokenType.String)
                {
                    session = reader.GetString();
                }

                reader.Skip();
            }

            reader.Read();
            return session;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw new ArgumentException("The parent header is not valid JSON.", nameof(parentHeaderJson), ex);
        }
    }
}
