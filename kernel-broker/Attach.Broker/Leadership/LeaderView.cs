namespace Attach.Broker.Leadership;

/// <summary>What <c>GET /api/v1/leader</c> answers: this broker's role, and who leads.</summary>
/// <param name="BrokerId">This broker.</param>
/// <param name="Role">Leader, Follower or Deposed (Starting only during startup).</param>
/// <param name="Leading">True when this broker makes the decisions.</param>
/// <param name="Elected">True when brokers share the store (PostgreSQL) and elect a leader; false when it is alone.</param>
/// <param name="Leader">The leader as last seen (its id, URL, term and since when); null when none is recorded.</param>
/// <param name="Reason">Why a deposed broker stopped leading.</param>
internal sealed record LeaderView(string BrokerId, string Role, bool Leading, bool Elected, LeaderRecord? Leader, string? Reason);
