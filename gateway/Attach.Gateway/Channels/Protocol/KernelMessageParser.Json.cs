using System.Diagnostics.CodeAnalysis;
using System.Text.Json;

namespace Attach.Gateway.Channels.Protocol;

internal static partial class KernelMessageParser
{
    // Python's json module has no fixed nesting limit, and nested widget state can go past the
    // reader's default of 64; failing to skip such a value would reject a valid message.
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 1024 };

    private enum LegacyField
    {
        Other,
        Header,
        ParentHeader,
        Content,
        Channel,
    }

    /// <summary>
    /// Locates header, parent_header, content and channel in a legacy JSON message, in any key
    /// order (JupyterLab puts content before header). Every other value, metadata included, is
    /// skipped by the reader, which still checks it is well-formed JSON as the server's
    /// <c>json.loads</c> would. On duplicate keys the last wins, as in Python.
    /// </summary>
    private static bool TrySplitLegacyJson(ReadOnlyMemory<byte> json, out MessageParts parts, [NotNullWhen(false)] out string? error)
    {
        parts = default;
        var where = "legacy message";
        try
        {
            var reader = new Utf8JsonReader(json.Span, ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "legacy message is not a JSON object";
                return false;
            }

            Range? header = null, parentHeader = null, content = null;
            string? channel = null;
            string? headerError = null, parentError = null, contentError = null, channelError = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var field = ClassifyLegacyField(ref reader);
                where = field switch
                {
                    LegacyField.Header => "header",
                    LegacyField.ParentHeader => "parent_header",
                    LegacyField.Content => "content",
                    LegacyField.Channel => "channel",
                    _ => "legacy message",
                };
                reader.Read();
                switch (field)
                {
                    case LegacyField.Header:
                        header = TryReadObjectRange(ref reader, allowNull: false, out var isObject);
                        headerError = isObject ? null : "header is not a JSON object";
                        break;
                    case LegacyField.ParentHeader:
                        parentHeader = TryReadObjectRange(ref reader, allowNull: true, out isObject);
                        parentError = isObject ? null : "parent_header is not a JSON object";
                        break;
                    case LegacyField.Content:
                        content = TryReadObjectRange(ref reader, allowNull: true, out isObject);
                        contentError = isObject ? null : "content is not a JSON object";
                        break;
                    case LegacyField.Channel:
                        channel = ReadLegacyChannel(ref reader, out channelError);
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }

            where = "legacy message";

            // With isFinalBlock the reader throws on anything but whitespace after the root.
            reader.Read();

            error = headerError ?? parentError ?? contentError ?? channelError;
            if (error is not null)
            {
                return false;
            }

            if (header is not { } headerRange)
            {
                error = "header missing";
                return false;
            }

            parts = new MessageParts(
                // jupyter_server's on_message assumes shell when a legacy message names no channel.
                channel ?? KernelChannelNames.Shell,
                json[headerRange],
                parentHeader is { } parentRange ? json[parentRange] : default,
                parentHeader.HasValue,
                content is { } contentRange ? json[contentRange] : default,
                content.HasValue);
            return true;
        }
        catch (JsonException)
        {
            error = $"invalid JSON in {where}";
            return false;
        }
        catch (InvalidOperationException)
        {
            // GetString on a channel that is not valid UTF-8.
            error = $"invalid UTF-8 in {where}";
            return false;
        }
    }

    private static LegacyField ClassifyLegacyField(ref Utf8JsonReader reader)
    {
        if (reader.ValueTextEquals("header"u8))
        {
            return LegacyField.Header;
        }

        if (reader.ValueTextEquals("parent_header"u8))
        {
            return LegacyField.ParentHeader;
        }

        if (reader.ValueTextEquals("content"u8))
        {
            return LegacyField.Content;
        }

        return reader.ValueTextEquals("channel"u8) ? LegacyField.Channel : LegacyField.Other;
    }

    /// <summary>
    /// With the reader on a value: returns the byte range of an object and moves past it; returns
    /// null (isObject true) for JSON null when allowed; otherwise skips it and sets isObject false.
    /// </summary>
    private static Range? TryReadObjectRange(ref Utf8JsonReader reader, bool allowNull, out bool isObject)
    {
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            var start = (int)reader.TokenStartIndex;
            reader.Skip();
            isObject = true;
            return start..(int)reader.BytesConsumed;
        }

        isObject = allowNull && reader.TokenType == JsonTokenType.Null;
        reader.Skip();
        return null;
    }

    private static string? ReadLegacyChannel(ref Utf8JsonReader reader, out string? error)
    {
        error = null;
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String when !reader.ValueIsEscaped:
                var known = KernelChannelNames.FromUtf8(reader.ValueSpan);
                if (known is not null)
                {
                    return known;
                }

                break;
            case JsonTokenType.String:
                break;
            default:
                error = "channel is not a string";
                reader.Skip();
                return null;
        }

        // Rare path (unknown or escaped): bound what gets decoded, the value is attacker-controlled.
        if (reader.ValueSpan.Length > 256)
        {
            error = "unknown channel (a long string)";
            return null;
        }

        var name = reader.GetString()!;
        var channel = KernelChannelNames.FromString(name);
        error = channel is null ? $"unknown channel '{Describe(name)}'" : null;
        return channel;
    }

    /// <summary>Reads the header fields, bounds the header sizes and, for the two types that need it, the content.</summary>
    private static bool TrySummarize(in MessageParts parts, [NotNullWhen(true)] out KernelMessageSummary? summary, [NotNullWhen(false)] out string? error)
    {
        summary = null;
        if (!TryReadHeader(parts.Header, "header", allowNull: false, out var header, out error))
        {
            return false;
        }

        if (header.MsgType is null)
        {
            error = "header.msg_type missing";
            return false;
        }

        if (header.MsgId is null)
        {
            error = "header.msg_id missing";
            return false;
        }

        var parent = default(HeaderFields);
        if (parts.HasParentHeader
            && !TryReadHeader(parts.ParentHeader, "parent_header", allowNull: true, out parent, out error))
        {
            return false;
        }

        string? code = null, executionState = null;
        var stopOnError = true;
        if (parts.HasContent)
        {
            if (string.Equals(header.MsgType, "execute_request", StringComparison.Ordinal)
                && !TryReadContentString(parts.Content.Span, "code"u8, "content.code", intern: false, out code, out error, "stop_on_error"u8, out stopOnError))
            {
                return false;
            }

            if (string.Equals(header.MsgType, "status", StringComparison.Ordinal)
                && !TryReadContentString(parts.Content.Span, "execution_state"u8, "content.execution_state", intern: true, out executionState, out error))
            {
                return false;
            }
        }

        summary = new KernelMessageSummary
        {
            Channel = parts.Channel,
            MsgType = header.MsgType,
            MsgId = header.MsgId,
            Session = header.Session,
            ParentMsgId = parent.MsgId,
            ParentMsgType = parent.MsgType,
            Code = code,
            StopOnError = stopOnError,
            ExecutionState = executionState,
            HeaderJson = parts.Header[header.ObjectRange],
        };
        return true;
    }

    /// <summary>
    /// Reads msg_id, msg_type and session from a header-shaped object and finds the object's exact
    /// byte range (a v1 part may carry whitespace around it). Other fields, date included, are skipped.
    /// </summary>
    private static bool TryReadHeader(ReadOnlyMemory<byte> json, string name, bool allowNull, out HeaderFields fields, [NotNullWhen(false)] out string? error)
    {
        fields = default;
        if (json.Length > MaxHeaderBytes)
        {
            error = $"{name} larger than {MaxHeaderBytes} bytes";
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(json.Span, ReaderOptions);
            reader.Read();
            if (allowNull && reader.TokenType == JsonTokenType.Null)
            {
                reader.Read();
                error = null;
                return true;
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                error = $"{name} is not a JSON object";
                return false;
            }

            var start = (int)reader.TokenStartIndex;
            string? msgId = null, msgType = null, session = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("msg_id"u8))
                {
                    reader.Read();
                    if (!TryReadStringOrNull(ref reader, name, "msg_id", intern: false, out msgId, out error))
                    {
                        return false;
                    }
                }
                else if (reader.ValueTextEquals("msg_type"u8))
                {
                    reader.Read();
                    if (!TryReadStringOrNull(ref reader, name, "msg_type", intern: true, out msgType, out error))
                    {
                        return false;
                    }
                }
                else if (reader.ValueTextEquals("session"u8))
                {
                    reader.Read();

                    // The gateway only echoes the session back; a non-string one is dropped, not fatal.
                    session = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    reader.Skip();
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            var end = (int)reader.BytesConsumed;
            reader.Read();
            fields = new HeaderFields(msgId, msgType, session, start..end);
            error = null;
            return true;
        }
        catch (JsonException)
        {
            error = $"invalid JSON in {name}";
            return false;
        }
        catch (InvalidOperationException)
        {
            // GetString on a string that is not valid UTF-8.
            error = $"invalid UTF-8 in {name}";
            return false;
        }
    }

    private static bool TryReadStringOrNull(ref Utf8JsonReader reader, string objectName, string field, bool intern, out string? value, [NotNullWhen(false)] out string? error)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                value = intern ? KnownKernelStrings.GetString(ref reader) : reader.GetString();
                error = null;
                return true;
            case JsonTokenType.Null:
                value = null;
                error = null;
                return true;
            default:
                value = null;
                error = $"{objectName}.{field} is not a string";
                return false;
        }
    }

    /// <summary>
    /// Reads one top-level string field of the content object (null when absent or null), checking
    /// the whole content is well-formed. Only used for the small contents the gateway acts on.
    /// </summary>
    private static bool TryReadContentString(ReadOnlySpan<byte> json, ReadOnlySpan<byte> field, string label, bool intern, out string? value, [NotNullWhen(false)] out string? error) =>
        TryReadContentString(json, field, label, intern, out value, out error, default, out _);

    /// <summary>
    /// As above, and also reads one top-level flag of the content (<paramref name="flagField"/>), true when absent
    /// and false only for JSON false or null, as Python's truth test reads <c>content.get(flag, True)</c>. A flag of
    /// another type is not an error: the kernel does not refuse it either.
    /// </summary>
    private static bool TryReadContentString(ReadOnlySpan<byte> json, ReadOnlySpan<byte> field, string label, bool intern, out string? value, [NotNullWhen(false)] out string? error, ReadOnlySpan<byte> flagField, out bool flag)
    {
        value = null;
        flag = true;
        try
        {
            var reader = new Utf8JsonReader(json, ReaderOptions);
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                error = "content is not a JSON object";
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var matches = reader.ValueTextEquals(field);
                var isFlag = !flagField.IsEmpty && reader.ValueTextEquals(flagField);
                reader.Read();
                if (isFlag)
                {
                    flag = reader.TokenType is not (JsonTokenType.False or JsonTokenType.Null);
                    reader.Skip();
                }
                else if (!matches)
                {
                    reader.Skip();
                }
                else if (reader.TokenType == JsonTokenType.String)
                {
                    value = intern ? KnownKernelStrings.GetString(ref reader) : reader.GetString();
                }
                else if (reader.TokenType == JsonTokenType.Null)
                {
                    value = null;
                }
                else
                {
                    error = $"{label} is not a string";
                    return false;
                }
            }

            reader.Read();
            error = null;
            return true;
        }
        catch (JsonException)
        {
            error = "invalid JSON in content";
            return false;
        }
        catch (InvalidOperationException)
        {
            error = "invalid UTF-8 in content";
            return false;
        }
    }

    private readonly record struct HeaderFields(string? MsgId, string? MsgType, string? Session, Range ObjectRange);
}
