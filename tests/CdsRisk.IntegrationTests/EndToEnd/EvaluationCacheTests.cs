using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using CdsRisk.Api.Pipeline;
using CdsRisk.IntegrationTests.TestServers;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>
/// The evaluation cache (Pipeline:EvaluationCacheSeconds) against the real servers: a call with the same content as a settled one
/// is answered byte for byte as a service that evaluates every call answers it — by construction, since only the evaluation is
/// kept and the cards, write-back and audit record are made for every call; a call that needed the FHIR server is never cached.
/// </summary>
[Collection("servers")]
public sealed class EvaluationCacheTests(TestEnvironment env)
{
    [Fact]
    public async Task SameContentAgain_IsTheAnswerAFreshEvaluationGives_WithItsOwnUuidsAndAuditRecord()
    {
        var patient = (await SeededDemo.GetAsync(env))["eligible-high-risk"];
        using var cache = new CachedEvaluations();
        using var kept = new ServiceFactory(env);
        using var keptClient = kept.CreateClient();
        using var fresh = new ServiceFactory(env, new Dictionary<string, string?> { ["Pipeline:EvaluationCacheSeconds"] = "0" });
        using var freshClient = fresh.CreateClient();
        var prefetch = await HookCalls.PrefetchAsync(env, keptClient, HookCalls.PatientView, patient.PatientId);

        // Score, write the RiskAssessment, then the first settled evaluation is kept; each service has its own store.
        foreach (var (factory, client) in new[] { (kept, keptClient), (fresh, freshClient) })
        {
            var (status, _) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patient.PatientId, prefetch: prefetch.DeepClone().AsObject()));
            Assert.Equal(HttpStatusCode.OK, status);
            await WaitForOutboxAsync(factory);
        }

        async Task<(Guid Instance, JsonObject Body)> CallAsync(HttpClient client, Guid instance)
        {
            var (status, body) = await HookCalls.PostAsync(client, HookCalls.PatientView,
                HookCalls.PatientViewRequest(env, patient.PatientId, instance, prefetch.DeepClone().AsObject()));
            Assert.Equal(HttpStatusCode.OK, status);
            return (instance, body!);
        }

        var first = await CallAsync(keptClient, Guid.NewGuid());
        var instance = Guid.NewGuid();
        var again = await CallAsync(keptClient, instance);
        var againLoaded = cache.Loaded(instance); // before the reference call, which has the same hookInstance on another service
        var reference = await CallAsync(freshClient, instance);

        Assert.False(cache.Hit(first.Instance)); // evaluated, and kept
        Assert.True(cache.Hit(instance));
        Assert.True(cache.Loaded(first.Instance));
        Assert.False(againLoaded); // the settled reading is recalled: the prefetch is not parsed again
        Assert.Equal(reference.Body.ToJsonString(), again.Body.ToJsonString());
        Assert.NotEqual(first.Body["cards"]![0]!["uuid"]!.GetValue<string>(), again.Body["cards"]![0]!["uuid"]!.GetValue<string>());
        Assert.Equal("eligible", HookCalls.Extension(again.Body)["outcome"]!.GetValue<string>());
        Assert.StartsWith("RiskAssessment/", HookCalls.Extension(again.Body)["riskAssessment"]!.GetValue<string>(), StringComparison.Ordinal);

        // The same content in other bytes (its members in reverse order) is the same question: answered alike.
        var otherSpelling = Guid.NewGuid();
        var request = HookCalls.PatientViewRequest(env, patient.PatientId, otherSpelling, prefetch.DeepClone().AsObject());
        var reversed = new JsonObject(request.Reverse().Select(m => KeyValuePair.Create(m.Key, m.Value?.DeepClone())).ToList());
        using (var response = await keptClient.PostAsync(new Uri(HookCalls.PatientView, UriKind.Relative),
            new StringContent(reversed.ToJsonString(), System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var freshAnswer = await CallAsync(freshClient, otherSpelling);
            Assert.Equal(freshAnswer.Body.ToJsonString(), JsonNode.Parse(await response.Content.ReadAsStringAsync())!.ToJsonString());
        }

        // The cached call has its own audit record, stored as answered, with the cards it answered.
        var record = await AuditRecordAsync(keptClient, instance);
        Assert.Equal(instance.ToString("D"), record["assessment"]!["id"]!.GetValue<string>());
        Assert.Equal("eligible", record["assessment"]!["outcome"]!.GetValue<string>());
        Assert.Equal(
            again.Body["cards"]!.AsArray().Select(c => c!["uuid"]!.GetValue<string>()),
            record["detail"]!["cards"]!.AsArray().Select(c => c!["uuid"]!.GetValue<string>()));
    }

    [Fact]
    public async Task ACallThatReadTheFhirServer_IsNeverAnsweredFromTheCache()
    {
        var patient = (await SeededDemo.GetAsync(env))["low-risk"];
        using var cache = new CachedEvaluations();
        using var factory = new ServiceFactory(env);
        using var client = factory.CreateClient();

        // No prefetch: everything is fetched with the EHR's token, so the answer depends on the server's data at the time.
        var instances = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            var instance = Guid.NewGuid();
            instances.Add(instance);
            var (status, _) = await HookCalls.PostAsync(client, HookCalls.PatientView, HookCalls.PatientViewRequest(env, patient.PatientId, instance));
            Assert.Equal(HttpStatusCode.OK, status);
            await WaitForOutboxAsync(factory);
        }

        Assert.All(instances, i => Assert.False(cache.Hit(i)));
        Assert.All(instances, i => Assert.True(cache.Loaded(i))); // each read the server again
    }

    private static async Task WaitForOutboxAsync(ServiceFactory factory)
    {
        var outbox = (CdsRisk.Api.Storage.OutboxStore)factory.Services.GetService(typeof(CdsRisk.Api.Storage.OutboxStore))!;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (await outbox.CountPendingAsync(CancellationToken.None) > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }
    }

    private static async Task<JsonObject> AuditRecordAsync(HttpClient client, Guid instance)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            using var response = await client.GetAsync(new Uri($"/api/risk-assessments/{instance:D}", UriKind.Relative));
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the audit record never appeared");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>The hook instances whose evaluation came from the cache while this is alive (the "evaluate" span's tag).</summary>
    private sealed class CachedEvaluations : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly ConcurrentDictionary<string, bool> _instances = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, bool> _loaded = new(StringComparer.Ordinal);

        public CachedEvaluations()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == "CdsRisk.Api.Pipeline", // by name: the pipeline's source may not exist yet
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
                ActivityStopped = a =>
                {
                    if (a.OperationName == "evaluate" && a.GetTagItem(CachingRiskEvaluator.CachedTag) is true
                        && a.Parent?.GetTagItem("cds.hook_instance") is string instance)
                    {
                        _instances[instance] = true;
                    }

                    if (a.OperationName == "load-patient-data" && a.Parent?.GetTagItem("cds.hook_instance") is string loaded)
                    {
                        _loaded[loaded] = true;
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public bool Hit(Guid instance) => _instances.ContainsKey(instance.ToString("D"));

        /// <summary>Whether the call read the patient's data (prefetch parsed, missing keys fetched): its "load-patient-data" span.</summary>
        public bool Loaded(Guid instance) => _loaded.ContainsKey(instance.ToString("D"));

        public void Dispose() => _listener.Dispose();
    }
}
