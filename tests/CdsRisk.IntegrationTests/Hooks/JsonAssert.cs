using System.Text.Json;
using System.Text.Json.Nodes;

namespace CdsRisk.IntegrationTests.Hooks;

/// <summary>Field-by-field comparison of JSON: reports the first differing path, so a golden failure says what changed.</summary>
public static class JsonAssert
{
    public static void Equal(JsonNode? expected, JsonNode? actual, string path = "$")
    {
        switch (expected)
        {
            case null:
                Assert.True(actual is null, $"{path}: expected null/absent, got {actual?.ToJsonString()}");
                return;
            case JsonObject eo:
                var ao = Assert.IsType<JsonObject>(actual, exactMatch: false);
                var missing = eo.Select(p => p.Key).Except(ao.Select(p => p.Key)).ToList();
                var extra = ao.Select(p => p.Key).Except(eo.Select(p => p.Key)).ToList();
                Assert.True(missing.Count == 0, $"{path}: missing members {string.Join(", ", missing)}");
                Assert.True(extra.Count == 0, $"{path}: unexpected members {string.Join(", ", extra)}");
                foreach (var (key, value) in eo)
                {
                    Equal(value, ao[key], $"{path}.{key}");
                }

                return;
            case JsonArray ea:
                var aa = Assert.IsType<JsonArray>(actual, exactMatch: false);
                Assert.True(ea.Count == aa.Count, $"{path}: expected {ea.Count} items, got {aa.Count}");
                for (var i = 0; i < ea.Count; i++)
                {
                    Equal(ea[i], aa[i], $"{path}[{i}]");
                }

                return;
            default:
                Assert.True(actual is JsonValue, $"{path}: expected a value, got {actual?.ToJsonString() ?? "absent"}");
                Assert.True(JsonNode.DeepEquals(expected, actual), $"{path}: expected {expected.ToJsonString()}, got {actual!.ToJsonString()}");
                return;
        }
    }

    public static JsonNode Load(string path) => JsonNode.Parse(File.ReadAllText(path))!;

    /// <summary>No member anywhere is null, "", [] or {} (CDS Hooks 2.0 §Use of JSON), except the listed paths.</summary>
    public static void NoEmptyValues(JsonNode? node, string path = "$", params string[] allowedEmpty)
    {
        switch (node)
        {
            case null:
                Assert.Fail($"{path} is null");
                break;
            case JsonObject o:
                Assert.True(o.Count > 0 || allowedEmpty.Contains(path), $"{path} is {{}}");
                foreach (var (key, value) in o)
                {
                    NoEmptyValues(value, $"{path}.{key}", allowedEmpty);
                }

                break;
            case JsonArray a:
                Assert.True(a.Count > 0 || allowedEmpty.Contains(path), $"{path} is []");
                for (var i = 0; i < a.Count; i++)
                {
                    NoEmptyValues(a[i], $"{path}[{i}]", allowedEmpty);
                }

                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                Assert.True(v.GetValue<string>().Length > 0, $"{path} is \"\"");
                break;
        }
    }
}
