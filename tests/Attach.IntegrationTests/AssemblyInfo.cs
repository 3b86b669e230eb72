// The tests start real processes on a 2-core machine: one deployment at a time keeps them deterministic.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
