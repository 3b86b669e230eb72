using System.Text.Json.Serialization;

namespace Attach.Broker.Scheduling;

/// <summary>Which queue a request waits in: every interactive waiter is served before any batch waiter.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PriorityClass>))]
internal enum PriorityClass
{
    /// <summary>A person is waiting on a held cell or a process at <c>cuInit</c>.</summary>
    Interactive = 0,

    /// <summary>Work nobody watches (jobs, suspended batch kernels going back in the queue).</summary>
    Batch = 1,
}
