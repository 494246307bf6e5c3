namespace CdsRisk.IntegrationTests.Hooks;

/// <summary>Files of the repository (golden JSON, the committed OpenAPI document), found from the test binary upwards.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Golden(string name) => Path.Combine(Root, "tests", "CdsRisk.IntegrationTests", "Hooks", "Golden", name);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CdsRisk.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("CdsRisk.sln not found above " + AppContext.BaseDirectory);
    }
}
