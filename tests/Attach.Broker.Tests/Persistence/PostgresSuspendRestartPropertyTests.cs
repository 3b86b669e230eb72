using FsCheck;
using FsCheck.Fluent;

namespace Attach.Broker.Tests.Persistence;

/// <summary>
/// <see cref="SuspendRestartPropertyTests"/> over a real PostgreSQL (a schema of its own per sequence): the same random
/// sequences of attach, release, suspend, resume, agent death and broker restarts, with fewer cases, since every write
/// is a round trip to the server.
/// </summary>
[RequiresPostgres]
public sealed class PostgresSuspendRestartPropertyTests
{
    [StoreFact]
    public void RandomAttachReleaseSuspendAgentDeathAndRestart_KeepThePoolConsistentAndServeEveryWaiter()
    {
        var property = Prop.ForAll(SuspendRestartPropertyTests.SuspendRestartSteps.Steps(), Sequence);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(3).WithQuietOnSuccess(true), property);
    }

    private static void Sequence(SuspendRestartPropertyTests.PoolStep[] steps) =>
        // Off the test framework's synchronisation context, as in the SQLite property.
        Task.Run(() => SuspendRestartPropertyTests.RunAsync(new PostgresTestStore(), steps)).GetAwaiter().GetResult();
}
