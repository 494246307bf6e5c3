using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CdsRisk.IntegrationTests.Hooks;

/// <summary>
/// 10,000 seeded mutations of valid requests: every answer is a 2xx or 4xx, never a 5xx — against the protocol layer alone
/// (a recording evaluator) and against the whole pipeline (eligibility engine, bundled model, cards, audit).
/// </summary>
public sealed class MalformedRequestFuzzTests
{
    private const int Cases = 10_000;
    private const int Seed = 20261127;

    private static readonly string[] Paths =
    [
        HookRequests.PatientViewPath, HookRequests.OrderSelectPath, HookRequests.PatientViewPath + "/feedback", "/cds-services/unknown", "/cds-services",
    ];

    private static readonly string[] Fragments =
    [
        "{", "}", "[", "]", ",", ":", "\"", "\\", "null", "true", "-0", "1e999", "\"\\ud800\"", "\u0000", "é", "{\"resourceType\":\"Bundle\"}",
        "{\"resourceType\":\"OperationOutcome\"}", "\"Patient/\"", "\"\"",
    ];

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task MutatedAndMalformedRequests_NeverGet5xx(bool protocolLayerOnly)
    {
        using var factory = new CdsRiskApiFactory(new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Critical" }, useRecordingEvaluator: protocolLayerOnly);
        var seeds = new[]
        {
            HookRequests.PatientView(HookRequests.FullPrefetch()).ToJsonString(),
            File.ReadAllText(RepoPaths.Golden("order-select-hl7-example.request.json")),
            """{"feedback":[{"card":"c1","outcome":"accepted","acceptedSuggestions":[{"id":"s"}],"outcomeTimestamp":"2026-11-27T10:00:00Z"}]}""",
            HookRequests.PatientView(new JsonObject { ["patient"] = HookRequests.Patient() }, "http://127.0.0.1:9/fhir").ToJsonString(),
        };
        var random = new Random(Seed);
        var cases = Enumerable.Range(0, Cases).Select(_ => MakeCase(random, seeds)).ToList();

        using var client = factory.CreateClient();
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        var stopwatch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (c, ct) =>
        {
            using var content = new ByteArrayContent(c.Body);
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(c.ContentType);
            using var response = await client.PostAsync(new Uri(c.Path, UriKind.Relative), content, ct);
            statuses.AddOrUpdate((int)response.StatusCode, 1, (_, n) => n + 1);
            if ((int)response.StatusCode >= 500)
            {
                failures.Add($"{(int)response.StatusCode} {c.Path}: {Encoding.UTF8.GetString(c.Body)[..Math.Min(3000, c.Body.Length)]}");
            }
        });

        Assert.True(failures.IsEmpty, $"{failures.Count} 5xx answers, e.g.\n{string.Join("\n", failures.Take(5))}");
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(60), $"took {stopwatch.Elapsed}");
        Assert.True(statuses.Keys.Count(s => s is >= 400 and < 500) >= 3, "the mutations should reach several kinds of 4xx: " + string.Join(",", statuses.Keys));
    }

    private sealed record FuzzCase(string Path, string ContentType, byte[] Body);

    private static FuzzCase MakeCase(Random random, string[] seeds)
    {
        var seed = seeds[random.Next(seeds.Length)];
        var path = Paths[random.Next(Paths.Length)];
        var contentType = random.Next(20) == 0 ? "text/plain" : "application/json";
        var body = random.Next(10) < 4 ? MutateText(random, seed) : MutateStructure(random, seed);
        return new FuzzCase(path, contentType, body);
    }

    private static byte[] MutateText(Random random, string seed)
    {
        var bytes = Encoding.UTF8.GetBytes(seed).ToList();
        for (var n = random.Next(1, 5); n > 0 && bytes.Count > 0; n--)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(5))
            {
                case 0:
                    bytes.RemoveRange(at, Math.Min(random.Next(1, 40), bytes.Count - at));
                    break;
                case 1:
                    bytes.InsertRange(at, Encoding.UTF8.GetBytes(Fragments[random.Next(Fragments.Length)]));
                    break;
                case 2:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 3:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
                default:
                    var length = Math.Min(random.Next(1, 60), bytes.Count - at);
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
            }
        }

        return [.. bytes];
    }

    private static byte[] MutateStructure(Random random, string seed)
    {
        var root = JsonNode.Parse(seed)!;
        for (var n = random.Next(1, 4); n > 0; n--)
        {
            var nodes = new List<JsonNode>();
            Collect(root, nodes);
            var target = nodes[random.Next(nodes.Count)];
            var parent = target.Parent;
            if (parent is null)
            {
                continue;
            }

            var replacement = RandomValue(random, depth: 0);
            switch (parent)
            {
                case JsonObject o:
                    var key = target.GetPropertyName();
                    if (random.Next(4) == 0)
                    {
                        o.Remove(key);
                    }
                    else
                    {
                        o[key] = replacement;
                    }

                    break;
                case JsonArray a:
                    var index = target.GetElementIndex();
                    if (random.Next(4) == 0)
                    {
                        a.RemoveAt(index);
                    }
                    else
                    {
                        a[index] = replacement;
                    }

                    break;
            }
        }

        return Encoding.UTF8.GetBytes(root.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
    }

    private static void Collect(JsonNode node, List<JsonNode> into)
    {
        into.Add(node);
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, value) in o)
                {
                    if (value is not null)
                    {
                        Collect(value, into);
                    }
                }

                break;
            case JsonArray a:
                foreach (var value in a)
                {
                    if (value is not null)
                    {
                        Collect(value, into);
                    }
                }

                break;
        }
    }

    private static JsonNode? RandomValue(Random random, int depth) => random.Next(depth > 2 ? 9 : 13) switch
    {
        0 => null,
        1 => JsonValue.Create(random.Next(2) == 0),
        2 => JsonValue.Create(random.Next(int.MinValue, int.MaxValue)),
        3 => JsonValue.Create(random.NextDouble() * 1e300),
        4 => JsonValue.Create(string.Empty),
        5 => JsonValue.Create(new string('x', random.Next(1, 5000))),
        6 => JsonValue.Create("Patient/" + random.Next()),
        7 => JsonValue.Create("\ud800\u0000<script>"),
        8 => JsonValue.Create("2026-13-45T99:00:00Z"),
        9 => new JsonArray(),
        10 => new JsonObject(),
        11 => new JsonObject { ["resourceType"] = JsonValue.Create(new[] { "Bundle", "Patient", "OperationOutcome", "Nope", "" }[random.Next(5)]), ["entry"] = RandomValue(random, depth + 1), ["id"] = RandomValue(random, depth + 1) },
        _ => new JsonArray(RandomValue(random, depth + 1), RandomValue(random, depth + 1)),
    };
}
