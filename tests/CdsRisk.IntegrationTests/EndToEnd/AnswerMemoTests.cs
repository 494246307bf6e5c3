using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using CdsRisk.Api.Pipeline;
using CdsRisk.IntegrationTests.TestServers;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>
/// The answer memo (Pipeline:AnswerMemoSeconds) against the real servers: a call with the same content as a settled one is answered
/// exactly as a fresh evaluation would answer it, with its own uuids and its own audit record; a call that needed the FHIR server is not.
/// </summary>
[Collection("servers")]
public sealed class AnswerMemoTests(TestEnvironment env)
{
    [Fact]
    public async Task SameContentAgain_IsTheAnswerAFreshEvaluationGives_WithItsOwnUuidsAndAuditRecord()
    {
        var patient = (await SeededDemo.GetAsync(env))["eligible-high-risk"];
        using var memo = new MemoActivities();
        using var kept = new ServiceFactory(env);
        using var keptClient = kept.CreateClient();
        using var fresh = new ServiceFactory(env, new Dictionary<string, string?> { ["Pipeline:AnswerMemoSeconds"] = "0" });
        using var freshClient = fresh.CreateClient();
        var prefetch = await HookCalls.PrefetchAsync(env, keptClient, HookCalls.PatientView, patient.PatientId);

        // Score, write the RiskAssessment, then the first settled answer is kept; each service has its own store.
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
        var reference = await CallAsync(freshClient, instance);

        Assert.Equal("bytes", memo.MatchedBy(instance)); // the same bytes as the first call, hookInstance aside
        Assert.Null(memo.MatchedBy(first.Instance));
        Assert.Equal(reference.Body.ToJsonString(), again.Body.ToJsonString());

        // The same content in other bytes (its members in reverse order) is recognised by its content, read in full, and from then
        // on by its bytes.
        foreach (var expected in new[] { "content", "bytes" })
        {
            var otherSpelling = Guid.NewGuid();
            var request = HookCalls.PatientViewRequest(env, patient.PatientId, otherSpelling, prefetch.DeepClone().AsObject());
            var reversed = new JsonObject(request.Reverse().Select(m => KeyValuePair.Create(m.Key, m.Value?.DeepClone())).ToList());
            using var response = await keptClient.PostAsync(new Uri(HookCalls.PatientView, UriKind.Relative),
                new StringContent(reversed.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var answered = await response.Content.ReadAsStringAsync();
            var freshAnswer = await CallAsync(freshClient, otherSpelling);
            Assert.Equal(expected, memo.MatchedBy(otherSpelling));
            Assert.Equal(freshAnswer.Body.ToJsonString(), JsonNode.Parse(answered)!.ToJsonString());
        }
        Assert.NotEqual(first.Body["cards"]![0]!["uuid"]!.GetValue<string>(), again.Body["cards"]![0]!["uuid"]!.GetValue<string>());
        Assert.Equal("eligible", HookCalls.Extension(again.Body)["outcome"]!.GetValue<string>());
        Assert.StartsWith("RiskAssessment/", HookCalls.Extension(again.Body)["riskAssessment"]!.GetValue<string>(), StringComparison.Ordinal);

        // The memo's call has its own audit record, with the cards it answered.
        var record = await AuditRecordAsync(keptClient, instance);
        Assert.Equal(instance.ToString("D"), record["assessment"]!["id"]!.GetValue<string>());
        Assert.Equal("eligible", record["assessment"]!["outcome"]!.GetValue<string>());
        Assert.Equal(
            again.Body["cards"]!.AsArray().Select(c => c!["uuid"]!.GetValue<string>()),
            record["detail"]!["cards"]!.AsArray().Select(c => c!["uuid"]!.GetValue<string>()));
    }

    [Fact]
    public async Task ACallThatReadTheFhirServer_IsNeverAnsweredFromTheMemo()
    {
        var patient = (await SeededDemo.GetAsync(env))["low-risk"];
        using var memo = new MemoActivities();
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

        Assert.All(instances, i => Assert.Null(memo.MatchedBy(i)));
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

    /// <summary>The hook instances answered from the memo while this is alive (the pipeline's "answer-memo" activity), and how each was matched.</summary>
    private sealed class MemoActivities : IDisposable
    {
        private readonly ActivityListener _listener;
        private readonly ConcurrentDictionary<string, string> _instances = new(StringComparer.Ordinal);

        public MemoActivities()
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == "CdsRisk.Api.Pipeline", // by name: the pipeline's source may not exist yet
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
                ActivityStopped = a =>
                {
                    if (a.OperationName == "answer-memo" && a.GetTagItem("cds.hook_instance") is string instance)
                    {
                        _instances[instance] = a.GetTagItem("cds.memo.matched_by") as string ?? "?";
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        /// <summary>"bytes", "content", or null when the call was not answered from the memo.</summary>
        public string? MatchedBy(Guid instance) => _instances.GetValueOrDefault(instance.ToString("D"));

        public void Dispose() => _listener.Dispose();
    }
}
