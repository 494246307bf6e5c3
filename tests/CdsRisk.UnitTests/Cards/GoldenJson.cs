using System.Text.Json;
using System.Text.Json.Nodes;

namespace CdsRisk.UnitTests.Cards;

/// <summary>Golden files under tests/CdsRisk.UnitTests/Cards/Golden, compared field by field. Set CDSRISK_UPDATE_GOLDEN=1 to rewrite them.</summary>
internal static class GoldenJson
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Directory { get; } = Find();

    public static void AssertMatches(string name, JsonNode actual)
    {
        var path = Path.Combine(Directory, name + ".json");
        if (Environment.GetEnvironmentVariable("CDSRISK_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, actual.ToJsonString(Indented) + "\n");
        }

        Assert.True(File.Exists(path), $"Golden file {path} is missing; run with CDSRISK_UPDATE_GOLDEN=1 and review it.");
        var expected = JsonNode.Parse(File.ReadAllText(path))!;
        var differences = new List<string>();
        Compare("$", expected, actual, differences);
        Assert.True(differences.Count == 0, $"{name}: {differences.Count} field(s) differ from the golden file:\n" + string.Join("\n", differences.Take(20)));
    }

    /// <summary>Walks both trees and names every path whose value, type or presence differs.</summary>
    public static void Compare(string path, JsonNode? expected, JsonNode? actual, List<string> differences)
    {
        switch (expected, actual)
        {
            case (null, null):
                return;
            case (JsonObject e, JsonObject a):
                foreach (var key in e.Select(p => p.Key).Union(a.Select(p => p.Key)))
                {
                    if (!e.ContainsKey(key))
                    {
                        differences.Add($"{path}.{key}: unexpected field");
                    }
                    else if (!a.ContainsKey(key))
                    {
                        differences.Add($"{path}.{key}: missing");
                    }
                    else
                    {
                        Compare($"{path}.{key}", e[key], a[key], differences);
                    }
                }

                return;
            case (JsonArray e, JsonArray a):
                if (e.Count != a.Count)
                {
                    differences.Add($"{path}: {a.Count} items, expected {e.Count}");
                }

                for (var i = 0; i < Math.Min(e.Count, a.Count); i++)
                {
                    Compare($"{path}[{i}]", e[i], a[i], differences);
                }

                return;
            case (JsonValue e, JsonValue a):
                if (!JsonNode.DeepEquals(e, a))
                {
                    differences.Add($"{path}: {a.ToJsonString()} , expected {e.ToJsonString()}");
                }

                return;
            default:
                differences.Add($"{path}: {actual?.ToJsonString() ?? "null"} , expected {expected?.ToJsonString() ?? "null"}");
                return;
        }
    }

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "CdsRisk.UnitTests", "Cards", "Golden");
            if (System.IO.Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("tests/CdsRisk.UnitTests/Cards/Golden not found above " + AppContext.BaseDirectory);
    }
}
