namespace Attach.Agent.Tests.Support;

/// <summary>A request <see cref="FakeBrokerHandler"/> received.</summary>
internal sealed record RecordedRequest(HttpMethod Method, Uri Uri, string? Authorization, string Body);
