namespace Attach.Simulation.Reporting;

/// <summary>The checkout the program runs from: the first folder above the build output that holds Attach.sln.</summary>
internal static class RepositoryRoot
{
    public static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Attach.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no Attach.sln above {AppContext.BaseDirectory}: run the simulation from a checkout (make bench)");
    }
}
