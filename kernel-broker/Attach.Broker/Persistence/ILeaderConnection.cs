using System.Data.Common;

namespace Attach.Broker.Persistence;

/// <summary>
/// The one database session through which a broker that shares its store with other brokers reads and writes: the
/// session that holds the leader lock (<see cref="Leadership.PostgresLeaderLock"/>). Running every statement on it is
/// the fence: a broker whose session died (and with it the lock, which another broker may hold by now) cannot write,
/// because its statements fail, instead of going out over a fresh pooled connection.
/// </summary>
internal interface ILeaderConnection
{
    /// <summary>
    /// Runs <paramref name="work"/> on the leader's session, alone. Throws <see cref="Leadership.NotLeaderException"/>
    /// when this broker does not hold the lock (it never had it, or lost it).
    /// </summary>
    T Run<T>(Func<DbConnection, T> work);
}
