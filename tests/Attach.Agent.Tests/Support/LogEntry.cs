using Microsoft.Extensions.Logging;

namespace Attach.Agent.Tests.Support;

/// <summary>One entry of a <see cref="RecordingLogger{T}"/>.</summary>
internal sealed record LogEntry(LogLevel Level, EventId EventId, string Message);
