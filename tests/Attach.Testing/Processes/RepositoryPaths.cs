using System.Reflection;

namespace Attach.Testing.Processes;

/// <summary>Finds the repository and the services' build output from a test assembly.</summary>
public static class RepositoryPaths
{
    /// <summary>The folder that holds Attach.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The build configuration the tests were built with (the services are built with the same one).</summary>
    public static string Configuration { get; } =
        typeof(RepositoryPaths).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    /// <summary>The path of a service's dll, e.g. <c>ServiceDll("gateway/Attach.Gateway")</c>.</summary>
    public static string ServiceDll(string projectDirectory)
    {
        var name = Path.GetFileName(projectDirectory);
        var path = Path.Combine(Root, projectDirectory, "bin", Configuration, "net10.0", name + ".dll");
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"{path} is not built; run `dotnet build Attach.sln -c {Configuration}` (make test does).", path);
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Attach.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Attach.sln not found above " + AppContext.BaseDirectory);
    }
}
