using System.Text;
using System.Text.Json;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Pipeline;
using CdsRisk.Api.Storage;
using CdsRisk.Core.Cards;
using CdsRisk.UnitTests.Cards;
using Microsoft.Extensions.Options;

namespace CdsRisk.UnitTests.Pipeline;

public sealed class HookAnswerMemoTests
{
    private static readonly CdsServiceDefinition PatientView = CdsServiceCatalog.Services.Single(s => s.Hook == "patient-view");

    public static TheoryData<string> CardInputs => new() { "eligible", "order-select-resection", "order-select-hypersensitivity", "needs-data", "pending" };

    private static CardInput Fixture(string name) => name switch
    {
        "eligible" => CardFixtures.Eligible(),
        "order-select-resection" => CardFixtures.OrderSelectResection(),
        "order-select-hypersensitivity" => CardFixtures.OrderSelectHypersensitivity(),
        "needs-data" => CardFixtures.NeedsData(),
        _ => CardFixtures.Pending(),
    };

    [Theory]
    [MemberData(nameof(CardInputs))]
    public void KeptAnswer_FilledForANewHookInstance_IsExactlyTheAnswerBuiltForIt(string fixture)
    {
        var input = Fixture(fixture);
        var standIn = Guid.NewGuid();
        byte[] template;
        IReadOnlyList<DeterministicUuid.DerivedUuid> derived;
        using (var recording = DeterministicUuid.Record())
        {
            template = Encoding.UTF8.GetBytes(CardJson.ToJson(CardBuilder.Build(input with { HookInstance = standIn.ToString("D") })).ToJsonString());
            derived = [.. recording.Derived];
        }

        var row = Row(standIn, detail: template);
        var kept = MemoizedAnswer.Create(standIn, derived, template, row, cardCount: 1, outcome: "eligible")!;

        var instance = Guid.NewGuid();
        var (answer, audit) = kept.For(Invocation(instance, new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero)));

        var expected = CardJson.ToJson(CardBuilder.Build(input with { HookInstance = instance.ToString("D") })).ToJsonString();
        Assert.Equal(expected, Encoding.UTF8.GetString(answer.ToArray()));
        Assert.Equal(answer.ToArray().Length, answer.Length);
        Assert.DoesNotContain(standIn.ToString("D"), Encoding.UTF8.GetString(answer.ToArray()), StringComparison.Ordinal);
        Assert.Equal(expected, Encoding.UTF8.GetString(audit!.Detail()));
        Assert.Empty(audit.DetailJson); // the detail is stored once, shared by every call that reuses the answer
        var stored = SharedDetail.FromStored(audit.Shared!.Id, audit.Shared.TemplateJson, audit.Shared.Uuids.StandIn, SharedDetail.DerivedJson(audit.Shared.Uuids));
        Assert.Equal(expected, Encoding.UTF8.GetString(stored.For(instance.ToString("D"))));
        Assert.Equal(instance.ToString("D"), audit.Id);
        Assert.Equal(instance.ToString("D"), audit.HookInstance);
        Assert.Equal(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero), audit.AssessedAt);
        Assert.Equal(row.PatientRef, audit.PatientRef);
    }

    [Fact]
    public void UuidsDerivedFromDerivedUuids_AreDerivedAgain()
    {
        var standIn = Guid.NewGuid();
        string Json(string instance)
        {
            var first = DeterministicUuid.Create($"card|{instance}|x");
            var second = DeterministicUuid.Create($"entry|{first:D}");
            var unrelated = DeterministicUuid.Create("patient|123");
            return $$"""{"hookInstance":"{{instance}}","card":"{{first:D}}","entry":"{{second:D}}","patient":"{{unrelated:D}}"}""";
        }

        string template;
        IReadOnlyList<DeterministicUuid.DerivedUuid> derived;
        using (var recording = DeterministicUuid.Record())
        {
            template = Json(standIn.ToString("D"));
            derived = [.. recording.Derived];
        }

        var kept = MemoizedAnswer.Create(standIn, derived, Encoding.UTF8.GetBytes(template), null, 1, "x")!;
        var instance = Guid.NewGuid();

        Assert.Equal(Json(instance.ToString("D")), Encoding.UTF8.GetString(kept.For(Invocation(instance, DateTimeOffset.UnixEpoch)).Response.ToArray()));
    }

    [Fact]
    public void AnAnswerCarryingTheStandInInAnotherSpelling_IsNotKept()
    {
        var standIn = Guid.NewGuid();
        var json = Encoding.UTF8.GetBytes($$"""{"a":"{{standIn:D}}","b":"{{standIn:N}}"}""");

        Assert.Null(MemoizedAnswer.Create(standIn, [], json, null, 0, "x"));
    }

    [Fact]
    public void RecordingsNest_AndStopWhenDisposed()
    {
        using (var outer = DeterministicUuid.Record())
        {
            DeterministicUuid.Create("a");
            using (var inner = DeterministicUuid.Record())
            {
                DeterministicUuid.Create("b");
                Assert.Equal(["b"], inner.Derived.Select(d => d.Name));
            }

            DeterministicUuid.Create("c");
            Assert.Equal(["a", "c"], outer.Derived.Select(d => d.Name));
        }

        using var after = DeterministicUuid.Record();
        Assert.Empty(after.Derived);
    }

    [Fact]
    public void Key_IsTheSameForTheSameContent_WhateverTheHookInstanceOrToken()
    {
        var a = Request(Prefetch(("patient", """{"resourceType":"Patient","id":"p1"}""")));
        var b = a with
        {
            HookInstance = Guid.NewGuid().ToString("D"),
            FhirAuthorization = new FhirAuthorization { AccessToken = "another", TokenType = "Bearer", Scope = "user/*.read", Subject = "x" },
        };

        Assert.Equal(HookAnswerMemo.Key(PatientView, a), HookAnswerMemo.Key(PatientView, b));
    }

    [Fact]
    public void Key_ChangesWithAnyPrefetchByte_AbsentVersusNull_AndTheContext()
    {
        var baseline = Request(Prefetch(("patient", """{"resourceType":"Patient","id":"p1"}"""), ("conditions", "null")));
        var keys = new[]
        {
            baseline,
            Request(Prefetch(("patient", """{"resourceType":"Patient","id":"p2"}"""), ("conditions", "null"))),
            Request(Prefetch(("patient", """{"resourceType":"Patient", "id":"p1"}"""), ("conditions", "null"))),
            Request(Prefetch(("patient", """{"resourceType":"Patient","id":"p1"}"""))),
            Request(Prefetch(("patient", """{"resourceType":"Patient","id":"p1"}"""), ("conditions", """{"resourceType":"Bundle","type":"searchset"}"""))),
            baseline with { Context = baseline.Context! with { UserId = "Practitioner/other" } },
            baseline with { Context = baseline.Context! with { EncounterId = "e1" } },
            baseline with { FhirServer = "https://other.example/fhir" },
        }.Select(r => HookAnswerMemo.Key(PatientView, r)).ToList();

        Assert.Equal(keys.Count, keys.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void KeptAnswers_ExpireAfterTheirLifetime_AndZeroTurnsTheMemoOff()
    {
        var time = new ManualTime(DateTimeOffset.UtcNow);
        using var memo = new HookAnswerMemo(Options.Create(new PipelineOptions { AnswerMemoSeconds = 60 }), time);
        var standIn = Guid.NewGuid();
        memo.Store("k", MemoizedAnswer.Create(standIn, [], """{"cards":[]}"""u8.ToArray(), null, 0, "ineligible")!);

        Assert.True(memo.TryGet("k", out _));
        time.Advance(TimeSpan.FromSeconds(61));
        Assert.False(memo.TryGet("k", out _));

        using var off = new HookAnswerMemo(Options.Create(new PipelineOptions { AnswerMemoSeconds = 0 }), time);
        Assert.False(off.Enabled);
    }

    private static Dictionary<string, JsonElement?> Prefetch(params (string Key, string Json)[] values) =>
        values.ToDictionary(v => v.Key, v => v.Json == "null" ? (JsonElement?)null : JsonDocument.Parse(v.Json).RootElement, StringComparer.Ordinal);

    private static CdsServiceRequest Request(Dictionary<string, JsonElement?> prefetch) => new()
    {
        Hook = "patient-view",
        HookInstance = Guid.NewGuid().ToString("D"),
        FhirServer = "https://ehr.example/fhir",
        FhirAuthorization = new FhirAuthorization { AccessToken = "t", TokenType = "Bearer", Scope = "user/*.read", Subject = "s" },
        Context = new HookContext { UserId = "Practitioner/1", PatientId = "p1" },
        Prefetch = prefetch,
    };

    private static HookInvocation Invocation(Guid instance, DateTimeOffset receivedAt) => new()
    {
        ServiceId = PatientView.Id,
        Hook = "patient-view",
        HookInstance = instance,
        PatientId = "p1",
        UserId = "Practitioner/1",
        ReceivedAt = receivedAt,
    };

    private static AuditedAssessment Row(Guid instance, byte[] detail) => new(
        instance.ToString("D"), "Patient/p1", "https://ehr.example/fhir", "patient-view", instance.ToString("D"), DateTimeOffset.UnixEpoch,
        "pre-reference", "1.0.0", "abc", "eligible", "high", 0.73, "1.2.3", detail, "ra-1");

    private sealed class ManualTime(DateTimeOffset now) : TimeProvider
    {
        private DateTimeOffset _now = now;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}

public sealed class SettledAnswerTests
{
    private static readonly Hl7.Fhir.Model.Patient Patient = new() { Id = "p1" };

    private static readonly CdsRisk.Api.Scoring.ScoringStageResult CachedScore =
        new(CdsRisk.Core.Eligibility.PreScoreState.Computed(0.7), null,
            new CdsRisk.Api.Scoring.ScoringOutcome { Pre = 0.7, RiskAssessmentIdentifier = "ra-1" }, null, null) { IsSettled = true };

    private static RiskEvaluation Evaluation(CdsRisk.Api.Scoring.ScoringStageResult? scoring) =>
        new() { Outcome = CdsRisk.Core.Eligibility.EligibilityOutcome.Eligible, Criteria = [], Scoring = scoring };

    [Fact]
    public void AnAnswerFromPrefetchAndAStoredScore_WithItsRiskAssessmentWritten_IsSettled() =>
        Assert.True(RiskPipeline.IsSettled(new() { Patient = Patient }, Evaluation(CachedScore), "RiskAssessment/1"));

    [Fact]
    public void NoStudyToScore_IsSettled() =>
        Assert.True(RiskPipeline.IsSettled(new() { Patient = Patient }, Evaluation(null), null));

    [Fact]
    public void DataFetchedOrUnavailable_ScoreNotSettled_OrRiskAssessmentNotYetWritten_AreNotSettled()
    {
        Assert.False(RiskPipeline.IsSettled(new() { Patient = Patient, FetchedData = ["Condition"] }, Evaluation(CachedScore), "RiskAssessment/1"));
        Assert.False(RiskPipeline.IsSettled(new() { Patient = Patient, UnavailableData = ["AllergyIntolerance"] }, Evaluation(CachedScore), "RiskAssessment/1"));
        Assert.False(RiskPipeline.IsSettled(new() { Patient = Patient }, Evaluation(CachedScore with { IsSettled = false }), "RiskAssessment/1"));
        Assert.False(RiskPipeline.IsSettled(new() { Patient = Patient }, Evaluation(CachedScore), null));
    }
}
