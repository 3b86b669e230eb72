// Every test starts real services and a real Chromium; two at once on a 2-core machine only make both flaky.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
