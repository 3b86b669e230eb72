namespace Attach.Broker.Leadership;

/// <summary>Who leads, as the leader wrote it into the store when it took the lead.</summary>
/// <param name="BrokerId">The leading broker's <see cref="LeadershipOptions.BrokerId"/>.</param>
/// <param name="Url">Where it can be reached (<see cref="LeadershipOptions.AdvertisedUrl"/>); null when not configured.</param>
/// <param name="Term">Goes up by one at every takeover: the fencing term of this leadership.</param>
/// <param name="Since">When it took the lead.</param>
internal sealed record LeaderRecord(string BrokerId, string? Url, long Term, DateTimeOffset Since);
