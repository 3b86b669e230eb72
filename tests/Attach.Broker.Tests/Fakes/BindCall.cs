using Attach.Broker.Pool;

namespace Attach.Broker.Tests.Fakes;

/// <summary>One call to <see cref="FakeGpuBinder.BindAsync"/>.</summary>
internal sealed record BindCall(string KernelId, string Owner, SliceRequest Request, DateTimeOffset RequestedAt);
