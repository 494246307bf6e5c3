using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using CdsRisk.Api.Scoring;
using CdsRisk.IntegrationTests.Hooks;
using CdsRisk.IntegrationTests.TestServers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>
/// The clinical review's vignettes (generate_vignettes.py, those marked "hook") through the real patient-view hook, twice: with
/// the prefetch an EHR would send, and with no prefetch so the service fetches every category from the real FHIR test server with
/// the hook's token. Both must give the vignette's outcome and the status of all 17 criteria, and the PRE only where the vignette
/// says it means something. The records are loaded into the FHIR server under fresh ids, with every date moved so that the
/// evaluation date of the vignette falls on today. Only the imaging + model work is replaced (by <see cref="VignetteScoringWork"/>,
/// which answers what the vignette says the images showed): the MRI reading itself has its own end-to-end tests with Orthanc.
/// </summary>
[Collection("servers")]
public sealed partial class VignetteHookTests(TestEnvironment env)
{
    internal static readonly string Folder = Path.Combine(RepoPaths.Root, "tests", "CdsRisk.UnitTests", "TestData", "vignettes");

    public static TheoryData<string> HookVignettes()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Folder, "*.expected.json").Order(StringComparer.Ordinal))
        {
            if (JsonNode.Parse(File.ReadAllText(file))!["hook"]?.GetValue<bool>() == true)
            {
                data.Add(Path.GetFileName(file)[..^".expected.json".Length]);
            }
        }

        return data;
    }

    [Fact]
    public void EveryIssue14ClassHasHookVignettes() => Assert.True(HookVignettes().Count >= 35, $"{HookVignettes().Count} hook vignettes");

    [Theory]
    [MemberData(nameof(HookVignettes))]
    public async Task Vignette_GivesTheSameOutcomeAndCriteria_WithPrefetchAndWhenTheServiceFetches(string name)
    {
        var expected = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Folder, name + ".expected.json")))!.AsObject();
        var evaluatedAt = DateTimeOffset.Parse(expected["evaluatedAt"]!.GetValue<string>(), CultureInfo.InvariantCulture);
        var shiftDays = DateOnly.FromDateTime(DateTime.UtcNow).DayNumber - DateOnly.FromDateTime(evaluatedAt.UtcDateTime).DayNumber;
        var prefix = $"v{name[..name.IndexOf('-', StringComparison.Ordinal)]}-{Guid.NewGuid().ToString("N")[..8]}";
        var bundle = Prepare(JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Folder, name + ".json")))!.AsObject(), prefix, shiftDays);
        var patientId = $"{prefix}-p1";
        var stored = await env.PostFhirBundleAsync(bundle.ToJsonString());
        Assert.All(stored["entry"]!.AsArray(), e => Assert.StartsWith("2", e!["response"]!["status"]!.GetValue<string>(), StringComparison.Ordinal));
        try
        {
            await CompareModesAsync(name, expected, prefix, patientId, bundle);
        }
        finally
        {
            // The in-memory test server searches by scanning: leave it as small as it was for the tests that follow.
            await env.PostFhirBundleAsync(Deletes(bundle).ToJsonString());
        }
    }

    private async Task CompareModesAsync(string name, JsonObject expected, string prefix, string patientId, JsonObject bundle)
    {
        var work = new VignetteScoringWork(expected);
        using var factory = new ServiceFactory(env, new Dictionary<string, string?>
        {
            // Pending vignettes wait out the budget; nothing else needs more than a moment.
            ["Pipeline:LatencyBudgetMilliseconds"] = "3000",
            ["Pipeline:EvaluationCacheSeconds"] = "0",
            // This test is about the engine in both loading modes, not about a slow server: a loaded CI machine must not time out a fetch.
            ["Fhir:TimeoutSeconds"] = "30",
            // The vignettes' ImagingStudies name no Endpoint: their images are on the site's default image server (the scoring work
            // itself is the vignette's, so nothing is read from it).
            ["DicomWeb:BaseUrl"] = env.DicomWebBaseUrl.AbsoluteUri,
        });
        using var app = factory.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.Replace(ServiceDescriptor.Singleton<IScoringWork>(work))));
        using var client = app.CreateClient();

        var prefetch = await HookCalls.PrefetchAsync(env, client, HookCalls.PatientView, patientId);
        var withPrefetch = await CallAsync(client, HookCalls.PatientViewRequest(env, patientId, prefetch: prefetch));
        var fetched = await CallAsync(client, HookCalls.PatientViewRequest(env, patientId));

        foreach (var (mode, extension) in new[] { ("prefetch", withPrefetch), ("fetch", fetched) })
        {
            var problems = new List<string>();
            var outcome = extension["outcome"]!.GetValue<string>();
            if (outcome != expected["outcome"]!.GetValue<string>())
            {
                problems.Add($"outcome {outcome}, expected {expected["outcome"]}");
            }

            var criteria = extension["criteria"]!.AsObject();
            foreach (var (id, want) in expected["criteria"]!.AsObject())
            {
                var got = criteria[id]?["status"]?.GetValue<string>();
                if (got != want!["status"]!.GetValue<string>())
                {
                    problems.Add($"{id}: {got} ({criteria[id]?["reason"]}), expected {want["status"]}");
                }
            }

            if (expected["preIsMeaningful"]?.GetValue<bool>() == false && extension["preScore"] is not null)
            {
                problems.Add($"a PRE is shown ({extension["preScore"]}) where the vignette says it means nothing");
            }

            if (expected["preIsMeaningful"]?.GetValue<bool>() == true && extension["preScore"]?.GetValue<double>() != expected["pre"]!["value"]!.GetValue<double>())
            {
                problems.Add($"PRE {extension["preScore"]}, expected {expected["pre"]!["value"]}");
            }

            Assert.True(problems.Count == 0, $"{name} ({mode}):{Environment.NewLine}{string.Join(Environment.NewLine, problems)}");
        }

        if (expected["selectedStudy"]?.GetValue<string>() is { } study)
        {
            // The job knows the study by its DICOM uid only (nothing in a job names a patient's resources).
            var selected = bundle["entry"]!.AsArray().Select(e => e!["resource"]!)
                .Single(r => r["resourceType"]!.GetValue<string>() == "ImagingStudy" && r["id"]!.GetValue<string>() == $"{prefix}-{study.Split('/')[1]}");
            var uid = selected["identifier"]!.AsArray().Select(i => i!["value"]!.GetValue<string>()).First(v => v.StartsWith("urn:oid:", StringComparison.Ordinal))["urn:oid:".Length..];
            Assert.All(work.StudiesScored, s => Assert.Equal(uid, s));
            Assert.NotEmpty(work.StudiesScored);
        }
    }

    private static async Task<JsonObject> CallAsync(HttpClient client, JsonObject request)
    {
        var (status, body) = await HookCalls.PostAsync(client, HookCalls.PatientView, request);
        Assert.Equal(HttpStatusCode.OK, status);
        return HookCalls.Extension(body!);
    }

    /// <summary>
    /// A batch that PUTs the vignette's resources under fresh ids (references rewritten), study and series UIDs made unique
    /// (the score cache is keyed by study), and every full date moved by <paramref name="shiftDays"/> whole days. A batch, not a
    /// transaction: the test server copies its whole store for each transaction (to roll back), which later tests would pay for.
    /// </summary>
    internal static JsonObject Prepare(JsonObject bundle, string prefix, int shiftDays)
    {
        var uidSuffix = "." + (uint)HashCode.Combine(prefix) % 1_000_000;
        var entries = new JsonArray();
        foreach (var entry in bundle["entry"]!.AsArray())
        {
            var resource = entry!["resource"]!.DeepClone().AsObject();
            var type = resource["resourceType"]!.GetValue<string>();
            var id = $"{prefix}-{resource["id"]!.GetValue<string>()}";
            resource["id"] = id;
            Rewrite(resource, prefix, shiftDays, uidSuffix);
            entries.Add(new JsonObject
            {
                ["fullUrl"] = $"{type}/{id}",
                ["resource"] = resource,
                ["request"] = new JsonObject { ["method"] = "PUT", ["url"] = $"{type}/{id}" },
            });
        }

        return new JsonObject { ["resourceType"] = "Bundle", ["type"] = "batch", ["entry"] = entries };
    }

    internal static JsonObject Deletes(JsonObject batch) => new()
    {
        ["resourceType"] = "Bundle",
        ["type"] = "batch",
        ["entry"] = new JsonArray([.. batch["entry"]!.AsArray().Select(e => (JsonNode)new JsonObject
        {
            ["request"] = new JsonObject { ["method"] = "DELETE", ["url"] = e!["request"]!["url"]!.GetValue<string>() },
        })]),
    };

    private static void Rewrite(JsonNode node, string prefix, int shiftDays, string uidSuffix)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o.ToList())
                {
                    if (value is JsonValue v && v.TryGetValue<string>(out var text))
                    {
                        o[key] = key switch
                        {
                            "reference" when text.Split('/') is [var type, var id] && type.Length > 0 && char.IsUpper(type[0]) => $"{type}/{prefix}-{id}",
                            "uid" => text + uidSuffix,
                            "value" when text.StartsWith("urn:oid:", StringComparison.Ordinal) => text + uidSuffix,
                            _ when FullDate().IsMatch(text) => Shift(text, shiftDays),
                            _ => text,
                        };
                    }
                    else if (value is not null)
                    {
                        Rewrite(value, prefix, shiftDays, uidSuffix);
                    }
                }

                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    if (item is not null)
                    {
                        Rewrite(item, prefix, shiftDays, uidSuffix);
                    }
                }

                break;
        }
    }

    private static string Shift(string text, int days)
    {
        var date = DateOnly.ParseExact(text[..10], "yyyy-MM-dd", CultureInfo.InvariantCulture).AddDays(days);
        return date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + text[10..];
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?$", RegexOptions.CultureInvariant)]
    private static partial Regex FullDate();

    /// <summary>What the vignette says the images showed: a PRE with four phases, a refused study, or still running.</summary>
    internal sealed class VignetteScoringWork(JsonObject expected) : IScoringWork
    {
        private readonly List<string> _studies = [];

        public IReadOnlyList<string> StudiesScored
        {
            get
            {
                lock (_studies)
                {
                    return [.. _studies];
                }
            }
        }

        public async Task<ScoringOutcome> RunAsync(ScoringRequest request, IScoringProgress progress, CancellationToken cancellationToken)
        {
            lock (_studies)
            {
                _studies.Add(request.StudyInstanceUid);
            }

            var pre = expected["pre"]!;
            if (expected["mri"] is JsonObject { } mri && mri["status"]!.GetValue<string>() == "unknown")
            {
                var reason = mri["reason"]!.GetValue<string>();
                return new ScoringOutcome { Refusals = [reason.StartsWith("MRI cannot be used: ", StringComparison.Ordinal) ? reason["MRI cannot be used: ".Length..] : reason] };
            }

            if (pre["status"]!.GetValue<string>() != "computed")
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            string[] phases = ["NonContrast", "Arterial", "PortalVenous", "Delayed"];
            return new ScoringOutcome
            {
                Pre = pre["value"]!.GetValue<double>(),
                ModelId = "pre-reference",
                ModelVersion = "1.0.0",
                Phases = [.. phases.Select(p => new PhaseSummary(p, "1.2.3", "vignette series", null, 32, "DescriptionKeyword", "vignette"))],
            };
        }
    }
}
