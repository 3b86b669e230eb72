using Xunit.Abstractions;

namespace Attach.Broker.Tests.Persistence;

/// <summary>Whether a store test of a given concrete class is skipped, and why.</summary>
internal static class StoreSkip
{
    public static string? For(ITestMethod testMethod) =>
        testMethod.TestClass.Class.GetCustomAttributes(typeof(RequiresPostgresAttribute)).Any()
        && TestPostgres.UnavailableReason is { } reason
        && !TestPostgres.InCi
            ? $"{reason} (Skipped because CI is not set; under CI these tests fail instead.)"
            : null;
}
