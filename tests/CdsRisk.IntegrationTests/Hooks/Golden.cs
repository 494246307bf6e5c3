using System.Text.Json;
using System.Text.Json.Nodes;

namespace CdsRisk.IntegrationTests.Hooks;

/// <summary>Golden wire files under Hooks/Golden; UPDATE_GOLDEN=1 rewrites them (review the diff before committing).</summary>
public static class Golden
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void AssertMatches(string name, JsonNode actual)
    {
        var path = RepoPaths.Golden(name);
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, actual.ToJsonString(Indented) + "\n");
            return;
        }

        Assert.True(File.Exists(path), $"golden file {name} is missing; run with UPDATE_GOLDEN=1 to create it");
        JsonAssert.Equal(JsonAssert.Load(path), actual);
    }
}
