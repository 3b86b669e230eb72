using Xunit.Abstractions;
using Xunit.Sdk;

namespace Attach.Broker.Tests.Persistence;

/// <summary>
/// A store test written once in an abstract class and run by each concrete class (one per store). Unlike a
/// <see cref="FactAttribute.Skip"/>, which would skip it for every store, the skip depends on the concrete class:
/// one marked <see cref="RequiresPostgresAttribute"/> skips it when PostgreSQL is missing outside CI.
/// </summary>
[XunitTestCaseDiscoverer("Attach.Broker.Tests.Persistence.StoreFactDiscoverer", "Attach.Broker.Tests")]
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class StoreFactAttribute : FactAttribute;

/// <summary>Discovers <see cref="StoreFactAttribute"/> tests, skipped per concrete class.</summary>
public sealed class StoreFactDiscoverer(IMessageSink diagnosticMessageSink) : FactDiscoverer(diagnosticMessageSink)
{
    protected override IXunitTestCase CreateTestCase(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        ArgumentNullException.ThrowIfNull(discoveryOptions);
        ArgumentNullException.ThrowIfNull(testMethod);
        return StoreSkip.For(testMethod) is { } reason
            ? new XunitSkippedDataRowTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, reason)
            : base.CreateTestCase(discoveryOptions, testMethod, factAttribute);
    }
}
