namespace Attach.Broker.Tests.Persistence;

/// <summary>
/// Marks a test class whose <see cref="StoreFactAttribute"/> and <see cref="StoreTheoryAttribute"/> tests run against
/// the real PostgreSQL: skipped, with the reason, where none answers and CI is not set; under CI they run and fail.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class RequiresPostgresAttribute : Attribute;
