using System.Text;
using System.Text.Json;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Pipeline;
using CdsRisk.UnitTests.Auth;
using Microsoft.Extensions.Options;

namespace CdsRisk.UnitTests.Pipeline;

/// <summary>
/// Recognising a repeated hook call by its bytes (HookAnswerMemo.Remember / TryRecall): only a body that is a remembered body with
/// its hookInstance and fhirAuthorization replaced is recalled, and only when those two values would pass the validator.
/// </summary>
public sealed class AnswerRecallTests
{
    private static readonly JsonSerializerOptions Json = CdsHooksJson.Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));
    private static readonly CdsServiceDefinition PatientView = CdsServiceCatalog.Services.Single(s => s.Hook == "patient-view");
    private static readonly CdsServiceRequestValidator Validator = new();
    private const string InstanceA = "\"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea\"";
    private const string InstanceB = "\"0b6a9f4e-2c51-4f0b-9a43-5f8e0f1c2d3e\"";
    private const string TokenA = """{"access_token":"first","token_type":"Bearer","expires_in":300,"scope":"user/*.read","subject":"s"}""";
    private const string TokenB = """{"access_token":"second","token_type":"Bearer","expires_in":600,"scope":"user/*.read user/RiskAssessment.write","subject":"s2"}""";
    private const string Patient = """{"resourceType":"Patient","id":"p1","name":[{"text":"A \"B\" {C}"}]}""";

    private static readonly CdsRisk.Api.Diagnostics.PatientIdHash PatientIds = new(new byte[32]);

    // authorization: the JSON of the fhirAuthorization value, or null to leave the member out.
    private static string Body(string instance, string? authorization, string patient = Patient) =>
        "{\"hook\":\"patient-view\",\"hookInstance\":" + instance + ",\"fhirServer\":\"https://ehr.example/fhir\""
        + (authorization is null ? "" : ",\"fhirAuthorization\":" + authorization)
        + ",\"context\":{\"userId\":\"Practitioner/1\",\"patientId\":\"p1\"},\"prefetch\":{\"patient\":" + patient + ",\"conditions\":null}}";

    private static (HookAnswerMemo Memo, KeptAnswer Kept, ManualTime Time) Remembered(string body, int memoSeconds = 60)
    {
        var time = new ManualTime(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
        var memo = new HookAnswerMemo(Options.Create(new PipelineOptions { AnswerMemoSeconds = memoSeconds }), time, PatientIds);
        var request = JsonSerializer.Deserialize<CdsServiceRequest>(body, Json)!;
        Assert.True(Validator.Validate(request).IsValid);
        var answer = MemoizedAnswer.Create(Guid.NewGuid(), [], """{"cards":[]}"""u8.ToArray(), null, 0, "not-applicable")!;
        var kept = memo.Enabled ? memo.Store(HookAnswerMemo.Key(PatientView, request), answer) : new KeptAnswer(answer, time.Now.AddMinutes(1));
        memo.Remember(PatientView.Id, Encoding.UTF8.GetBytes(body), 64, request, HookInvocation.From(PatientView, request), kept);
        return (memo, kept, time);
    }

    private static bool Recall(HookAnswerMemo memo, string body, out RecalledAnswer recalled, string? serviceId = null) =>
        memo.TryRecall(serviceId ?? PatientView.Id, Encoding.UTF8.GetBytes(body), Json, out recalled);

    [Fact]
    public void ARepeatedBody_WithItsOwnHookInstanceAndToken_IsRecalled_AsAFullReadingReadsIt()
    {
        var (memo, kept, _) = Remembered(Body(InstanceA, TokenA));
        var again = Body(InstanceB, TokenB);

        Assert.True(Recall(memo, again, out var recalled));

        var full = JsonSerializer.Deserialize<CdsServiceRequest>(again, Json)!;
        var invocation = HookInvocation.From(PatientView, full);
        Assert.Same(kept.Answer, recalled.Answer);
        Assert.Equal(full.Hook, recalled.Request.Hook);
        Assert.Equal(full.HookInstance, recalled.Request.HookInstance);
        Assert.Equal(full.FhirServer, recalled.Request.FhirServer);
        Assert.Equal(full.FhirAuthorization, recalled.Request.FhirAuthorization);
        Assert.Equal(full.Context, recalled.Request.Context);
        Assert.Equal(invocation.HookInstance, recalled.Invocation.HookInstance);
        Assert.Equal(invocation.Authorization, recalled.Invocation.Authorization);
        Assert.Equal("second", recalled.Invocation.Authorization!.AccessToken);
        Assert.Equal((invocation.ServiceId, invocation.Hook, invocation.PatientId, invocation.UserId, invocation.FhirServer),
            (recalled.Invocation.ServiceId, recalled.Invocation.Hook, recalled.Invocation.PatientId, recalled.Invocation.UserId, recalled.Invocation.FhirServer));
        Assert.Equal(PatientIds.Of("p1"), recalled.PatientHash);
    }

    [Fact]
    public void AnyOtherByte_AnotherKindOfAuthorization_OrAnotherService_IsAMiss()
    {
        var (memo, _, _) = Remembered(Body(InstanceA, TokenA));

        Assert.True(Recall(memo, Body(InstanceB, TokenA), out _));
        Assert.False(Recall(memo, Body(InstanceB, TokenA, Patient.Replace("p1", "p2", StringComparison.Ordinal)), out _));
        Assert.False(Recall(memo, Body(InstanceB, TokenA, Patient.Replace(",", ", ", StringComparison.Ordinal)), out _));
        Assert.False(Recall(memo, Body(InstanceB, TokenA) + " ", out _));
        Assert.False(Recall(memo, Body(InstanceB, "null"), out _));
        Assert.False(Recall(memo, Body(InstanceB, null), out _));
        Assert.False(Recall(memo, Body(InstanceB, TokenA), out _, serviceId: "another-service"));
    }

    [Theory]
    [InlineData("null")]
    [InlineData(null)]
    public void BodiesWithANullOrNoAuthorization_AreRecalledWithNone(string? authorization)
    {
        var (memo, _, _) = Remembered(Body(InstanceA, authorization));

        Assert.True(Recall(memo, Body(InstanceB, authorization), out var recalled));
        Assert.Null(recalled.Request.FhirAuthorization);
        Assert.Null(recalled.Invocation.Authorization);
        Assert.False(Recall(memo, Body(InstanceB, TokenA), out _));
    }

    public static TheoryData<string> Authorizations => new()
    {
        TokenB,
        """{"access_token":"x","token_type":"Bearer","expires_in":1,"scope":"s","subject":"u","patient":"p1","unknown":{"a":[1,{"b":null}]}}""",
        """{"access_token":"x","token_type":"Bearer","expires_in":"300","scope":"s","subject":"u"}""",
        """{"access_token":"","token_type":"Bearer","expires_in":300,"scope":"s","subject":"u"}""",
        """{"access_token":"  ","token_type":"Bearer","expires_in":300,"scope":"s","subject":"u"}""",
        """{"token_type":"Bearer","expires_in":300,"scope":"s","subject":"u"}""",
        """{"access_token":"x","token_type":"bearer","expires_in":300,"scope":"s","subject":"u"}""",
        """{"access_token":"x","expires_in":300,"scope":"s","subject":"u"}""",
        """{"access_token":"x","token_type":"Bearer","expires_in":0,"scope":"s","subject":"u"}""",
        """{"access_token":"x","token_type":"Bearer","expires_in":-5,"scope":"s","subject":"u"}""",
        """{"access_token":"x","token_type":"Bearer","scope":"s","subject":"u"}""",
        """{"access_token":"x","token_type":"Bearer","expires_in":300,"scope":"","subject":"u"}""",
        """{"access_token":"x","token_type":"Bearer","expires_in":300,"scope":"s"}""",
        """{"access_token":"x","token_type":"Bearer","expires_in":300,"scope":"s","subject":"u","access_token":""}""",
        """{"access_token":"x","token_type":"Bearer","expires_in":1e999,"scope":"s","subject":"u"}""",
        """{"access_token":"x","token_type":"Bearer","expires_in":300,"scope":"s","subject":"u",}""",
        """{"access_token":"x\ud800","token_type":"Bearer","expires_in":300,"scope":"s","subject":"u"}""",
        """{"access_token":"x","token_type":"Bearer","expires_in":300,"scope":"s","subject":"u","deep":""" + new string('[', 62) + new string(']', 62) + "}",
        """{"access_token":"x","token_type":"Bearer","expires_in":300,"scope":"s","subject":"u","deep":""" + new string('[', 63) + new string(']', 63) + "}",
        """[]""",
        """{}""",
    };

    [Theory]
    [MemberData(nameof(Authorizations))]
    public void AnAuthorization_IsRecalledExactlyWhenTheFullReadingAndTheValidatorAcceptIt(string authorization)
    {
        var (memo, _, _) = Remembered(Body(InstanceA, TokenA));
        var body = Body(InstanceB, authorization);

        Assert.Equal(AcceptedInFull(body), Recall(memo, body, out _));
    }

    [Fact]
    public void TheDepthCasesAbove_SitOnEitherSideOfTheLimit()
    {
        string Deep(int n) => Body(InstanceB, """{"access_token":"x","token_type":"Bearer","expires_in":300,"scope":"s","subject":"u","deep":""" + new string('[', n) + new string(']', n) + "}");

        Assert.True(AcceptedInFull(Deep(62)));
        Assert.False(AcceptedInFull(Deep(63)));
    }

    [Theory]
    [InlineData("\"0B6A9F4E-2C51-4F0B-9A43-5F8E0F1C2D3E\"", true)]
    [InlineData("\"\\u0030b6a9f4e-2c51-4f0b-9a43-5f8e0f1c2d3e\"", false)] // the validator takes it; read in full instead
    [InlineData("\"{0b6a9f4e-2c51-4f0b-9a43-5f8e0f1c2d3e}\"", false)]
    [InlineData("\"0b6a9f4e2c514f0b9a435f8e0f1c2d3e\"", false)]
    [InlineData("\"not-a-uuid\"", false)]
    [InlineData("\"\"", false)]
    [InlineData("17", false)]
    [InlineData("null", false)]
    public void AHookInstance_IsRecalledOnlyAsAUuidTheValidatorAccepts(string instance, bool recalled)
    {
        var (memo, _, _) = Remembered(Body(InstanceA, TokenA));
        var body = Body(instance, TokenA);

        Assert.Equal(recalled, Recall(memo, body, out _));
        if (recalled)
        {
            Assert.True(AcceptedInFull(body));
        }
    }

    [Fact]
    public void ABodyWhoseHookInstanceTheQuickLookWouldMisplace_IsNeverRemembered()
    {
        // Read in full, the last of two hookInstance members counts; the quick look stops at the first. Such a body is not kept.
        var body = Body(InstanceA, TokenA)[..^1] + ",\"hookInstance\":" + InstanceB + "}";
        var (memo, _, _) = Remembered(body);

        Assert.False(Recall(memo, body, out _));
        Assert.False(Recall(memo, Body(InstanceA, TokenA), out _));
    }

    [Fact]
    public void ARecalledAnswer_LastsNoLongerThanItsKeptAnswer_AndAnOffMemoRemembersNothing()
    {
        var (memo, _, time) = Remembered(Body(InstanceA, TokenA));
        time.Now += TimeSpan.FromSeconds(59);
        Assert.True(Recall(memo, Body(InstanceB, TokenA), out _));
        time.Now += TimeSpan.FromSeconds(2);
        Assert.False(Recall(memo, Body(InstanceB, TokenA), out _));

        var (off, _, _) = Remembered(Body(InstanceA, TokenA), memoSeconds: 0);
        Assert.False(Recall(off, Body(InstanceA, TokenA), out _));
    }

    [Fact]
    public void OneKeptAnswer_IsRememberedByAFewSpellingsOnly()
    {
        var (memo, kept, _) = Remembered(Body(InstanceA, TokenA));

        // The same content with more and more spaces before the prefetch: a new spelling each time.
        var spellings = Enumerable.Range(1, KeptAnswer.MaxSpellings + 1)
            .Select(n => Body(InstanceA, TokenA).Replace(",\"prefetch\":", "," + new string(' ', n) + "\"prefetch\":", StringComparison.Ordinal))
            .ToList();
        foreach (var spelling in spellings)
        {
            var request = JsonSerializer.Deserialize<CdsServiceRequest>(spelling, Json)!;
            memo.Remember(PatientView.Id, Encoding.UTF8.GetBytes(spelling), 64, request, HookInvocation.From(PatientView, request), kept);
        }

        // The first body took one of the places.
        var recalled = spellings.Select(s => Recall(memo, s.Replace(InstanceA, InstanceB, StringComparison.Ordinal), out _)).ToList();
        Assert.Equal(KeptAnswer.MaxSpellings - 1, recalled.Count(r => r));
        Assert.False(recalled[^1]);
        Assert.True(Recall(memo, Body(InstanceB, TokenA), out _));
    }

    [Fact]
    public void NoMutationOfARememberedBody_IsRecalledUnlessItReadsInFullAsThatBodyWithItsTwoValuesReplaced()
    {
        var remembered = Body(InstanceA, TokenA);
        var (memo, _, _) = Remembered(remembered);
        var original = JsonSerializer.Deserialize<CdsServiceRequest>(remembered, Json)!;
        var bytes = Encoding.UTF8.GetBytes(Body(InstanceB, TokenB));
        var alphabet = "\"\\{}[]:, 0a-Z\u00e9"u8.ToArray();
        var random = new Random(20261127);
        var recalls = 0;
        for (var n = 0; n < 5_000; n++)
        {
            // One to three edits: a byte changed, inserted or removed anywhere, the two per-call values included.
            var mutant = new List<byte>(bytes);
            for (var edits = random.Next(1, 4); edits > 0 && mutant.Count > 0; edits--)
            {
                var at = random.Next(mutant.Count);
                switch (random.Next(3))
                {
                    case 0: mutant[at] = alphabet[random.Next(alphabet.Length)]; break;
                    case 1: mutant.Insert(at, alphabet[random.Next(alphabet.Length)]); break;
                    default: mutant.RemoveAt(at); break;
                }
            }

            var body = mutant.ToArray();
            if (!memo.TryRecall(PatientView.Id, body, Json, out var recalled))
            {
                continue;
            }

            recalls++;
            var text = Encoding.UTF8.GetString(body);
            Assert.True(AcceptedInFull(text), text);
            var full = JsonSerializer.Deserialize<CdsServiceRequest>(body, Json)!;
            Assert.Equal(full.HookInstance, recalled.Request.HookInstance);
            Assert.Equal(full.FhirAuthorization, recalled.Request.FhirAuthorization);
            Assert.Equal((original.Hook, original.FhirServer, original.Context), (full.Hook, full.FhirServer, full.Context));
            Assert.Equal(
                original.Prefetch!.ToDictionary(p => p.Key, p => p.Value?.GetRawText()),
                full.Prefetch!.ToDictionary(p => p.Key, p => p.Value?.GetRawText()));
        }

        // Edits inside the two values keep some mutants recallable: the test looks at real recalls, not only at misses.
        Assert.InRange(recalls, 1, 4_999);
    }

    private static bool AcceptedInFull(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
            var request = JsonSerializer.Deserialize<CdsServiceRequest>(body, Json);
            return request is not null && Validator.Validate(request).IsValid;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }
    }
}
