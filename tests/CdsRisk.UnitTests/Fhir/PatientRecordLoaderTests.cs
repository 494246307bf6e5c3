using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CdsRisk.Api.Fhir;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Pipeline;
using CdsRisk.Core.Patients;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CdsRisk.UnitTests.Fhir;

/// <summary>The loader against a canned FHIR server in memory: caps, patient checks, next links, servers as they are.</summary>
public sealed class PatientRecordLoaderTests
{
    private const string Server = "https://ehr.example.org/fhir";

    private readonly ConcurrentQueue<Uri> _requests = new();
    private Func<Uri, (HttpStatusCode Status, JsonNode? Body)> _answer = _ => (HttpStatusCode.OK, Searchset());

    private Func<Uri, bool> _hangs = _ => false;

    private sealed class FakeFhir(PatientRecordLoaderTests test) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            test._requests.Enqueue(request.RequestUri!);
            if (test._hangs(request.RequestUri!))
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            var (status, body) = test._answer(request.RequestUri!);
            return new HttpResponseMessage(status) { Content = new StringContent(body?.ToJsonString() ?? "", Encoding.UTF8, "application/fhir+json") };
        }
    }

    private PatientRecordLoader Loader(PrefetchParseCache? cache = null, FhirOptions? options = null)
    {
        options ??= new FhirOptions();
        options.AllowedServers = options.AllowedServers.Count > 0 ? options.AllowedServers : [Server, "https://other.example.org/fhir"];
        var wrapped = Options.Create(options);
        return new PatientRecordLoader(new FhirFetchClient(new HttpClient(new FakeFhir(this)), wrapped), cache ?? new PrefetchParseCache(), wrapped,
            NullLogger<PatientRecordLoader>.Instance);
    }

    private static HookInvocation Invocation(string patientId = "p1", string? fhirServer = Server) => new()
    {
        ServiceId = CdsServiceCatalog.PatientViewId,
        Hook = "patient-view",
        HookInstance = Guid.NewGuid(),
        PatientId = patientId,
        UserId = "Practitioner/1",
        FhirServer = fhirServer is null ? null : new Uri(fhirServer),
        ReceivedAt = DateTimeOffset.UtcNow,
    };

    private static Dictionary<string, JsonElement?> Prefetch(JsonObject values) =>
        values.ToDictionary(p => p.Key, p => p.Value is null ? (JsonElement?)null : JsonDocument.Parse(p.Value.ToJsonString()).RootElement);

    private static JsonObject Patient(string id = "p1") => new() { ["resourceType"] = "Patient", ["id"] = id };

    private static JsonObject Condition(string id, string subject = "Patient/p1") => new()
    {
        ["resourceType"] = "Condition",
        ["id"] = id,
        ["code"] = new JsonObject { ["text"] = "HCC" },
        ["subject"] = new JsonObject { ["reference"] = subject },
    };

    private static JsonObject Observation(string id, string subject = "Patient/p1") => new()
    {
        ["resourceType"] = "Observation",
        ["id"] = id,
        ["status"] = "final",
        ["code"] = new JsonObject { ["text"] = "AFP" },
        ["subject"] = new JsonObject { ["reference"] = subject },
    };

    private static JsonObject Searchset(params JsonObject[] resources) => SearchsetWithNext(null, resources);

    private static JsonObject SearchsetWithNext(string? next, params JsonObject[] resources)
    {
        var bundle = new JsonObject
        {
            ["resourceType"] = "Bundle",
            ["type"] = "searchset",
            ["entry"] = new JsonArray([.. resources.Select(r => (JsonNode)new JsonObject { ["resource"] = r.DeepClone() })]),
        };
        if (next is not null)
        {
            bundle["link"] = new JsonArray(new JsonObject { ["relation"] = "next", ["url"] = next });
        }

        return bundle;
    }

    /// <summary>Every key given (empty searchsets), with these replaced.</summary>
    private static JsonObject Full(Action<JsonObject>? change = null)
    {
        var prefetch = new JsonObject { ["patient"] = Patient() };
        foreach (var t in CdsServiceCatalog.Templates.Where(t => t.Key != "patient"))
        {
            prefetch[t.Key] = Searchset();
        }

        change?.Invoke(prefetch);
        return prefetch;
    }

    private Task<PatientRecord> LoadAsync(JsonObject prefetch, HookInvocation? invocation = null, PatientRecordLoader? loader = null, CancellationToken cancellationToken = default) =>
        (loader ?? Loader()).LoadAsync(invocation ?? Invocation(), CdsServiceCatalog.Templates, Prefetch(prefetch), cancellationToken);

    // ---- issue 13 item 7: caps ----

    [Fact]
    public async Task PrefetchOverTheEntryCapPerKey_Is400NamingTheKey_BeforeAnythingIsParsedOrFetched()
    {
        var loader = Loader(options: new FhirOptions { MaxPrefetchEntriesPerKey = 10, MaxEntriesTotal = 100 });
        var prefetch = Full(p => p["labs"] = Searchset([.. Enumerable.Range(0, 11).Select(i => Observation("o" + i))]));

        var e = await Assert.ThrowsAsync<CdsRiskException>(() => LoadAsync(prefetch, loader: loader));

        Assert.Equal("CDSR-1012", e.Error.Code);
        Assert.Equal(400, e.Error.Status);
        Assert.Contains("Fhir:MaxPrefetchEntriesPerKey", Assert.Single(e.Errors!, x => x.Key == "prefetch.labs").Value[0], StringComparison.Ordinal);
        Assert.Empty(_requests);
    }

    [Fact]
    public async Task PrefetchAtTheEntryCap_IsRead()
    {
        var loader = Loader(options: new FhirOptions { MaxPrefetchEntriesPerKey = 10, MaxEntriesTotal = 100 });

        var record = await LoadAsync(Full(p => p["labs"] = Searchset([.. Enumerable.Range(0, 10).Select(i => Observation("o" + i))])), loader: loader);

        Assert.Equal(10, record.Observations.Count);
    }

    [Fact]
    public async Task PrefetchOverTheTotalCap_Is400NamingTheLargestKey()
    {
        var loader = Loader(options: new FhirOptions { MaxPrefetchEntriesPerKey = 10, MaxEntriesTotal = 15 });
        var prefetch = Full(p =>
        {
            p["labs"] = Searchset([.. Enumerable.Range(0, 9).Select(i => Observation("o" + i))]);
            p["conditions"] = Searchset([.. Enumerable.Range(0, 7).Select(i => Condition("c" + i))]);
        });

        var e = await Assert.ThrowsAsync<CdsRiskException>(() => LoadAsync(prefetch, loader: loader));

        Assert.Equal("CDSR-1012", e.Error.Code);
        var message = Assert.Single(e.Errors!, x => x.Key == "prefetch").Value[0];
        Assert.Contains("'labs' with 9", message, StringComparison.Ordinal);
        Assert.Contains("Fhir:MaxEntriesTotal", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FetchedPagesOverTheEntryCap_StopAndTheKeyIsReportedUnavailable()
    {
        var loader = Loader(options: new FhirOptions { MaxPrefetchEntriesPerKey = 5, MaxEntriesTotal = 100 });
        var page = 0;
        _answer = u => (HttpStatusCode.OK, SearchsetWithNext($"{Server}/Condition?patient=p1&page={++page}", Condition("c" + page + "a"), Condition("c" + page + "b")));

        var record = await LoadAsync(Full(p => p.Remove("conditions")), loader: loader);

        Assert.Equal(3, _requests.Count); // 2 + 2 read; the third page (2 more) would pass the cap and is not parsed
        Assert.Equal(4, record.Conditions.Count);
        var gap = Assert.Single(record.DataGaps);
        Assert.Equal(("conditions", "Condition"), (gap.Key, gap.Category));
        Assert.Contains("Fhir:MaxPrefetchEntriesPerKey", gap.Reason, StringComparison.Ordinal);
        Assert.Equal(["Condition"], record.UnavailableData);
    }

    [Fact]
    public async Task AbortedRequest_StopsLoading_AndNoFurtherPageIsRequested()
    {
        using var abort = new CancellationTokenSource();
        var page = 0;
        _answer = u =>
        {
            if (++page == 3)
            {
                abort.Cancel(); // the client leaves while the third page is on its way
            }

            return (HttpStatusCode.OK, SearchsetWithNext($"{Server}/Condition?patient=p1&page={page}", Condition("c" + page)));
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => LoadAsync(Full(p => p.Remove("conditions")), cancellationToken: abort.Token));

        Assert.Equal(3, _requests.Count);
    }

    // ---- issue 13 item 15: next links stay on the hook's fhirServer ----

    [Fact]
    public async Task NextLinkToAnotherAllowedServer_IsNotFollowed_AndTheCategoryIsIncomplete()
    {
        _answer = u => (HttpStatusCode.OK, SearchsetWithNext("https://other.example.org/fhir/Condition?patient=p1&page=2", Condition("c1")));

        var record = await LoadAsync(Full(p => p.Remove("conditions")));

        Assert.DoesNotContain(_requests, u => u.Host == "other.example.org");
        Assert.Equal(["c1"], record.Conditions.Select(c => c.Id));
        Assert.Contains("leads off the hook's fhirServer", Assert.Single(record.DataGaps).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PrefetchNextLinkToAnotherAllowedServer_IsNotFollowedEither()
    {
        var record = await LoadAsync(Full(p => p["conditions"] = SearchsetWithNext("https://other.example.org/fhir/Condition?page=2", Condition("c1"))));

        Assert.Empty(_requests);
        Assert.Equal(["Condition"], record.UnavailableData);
    }

    [Fact]
    public async Task RelativeNextLinks_AreResolvedAgainstThePageThatCarriesThem()
    {
        _answer = u => u.Query.Contains("page=2", StringComparison.Ordinal)
            ? (HttpStatusCode.OK, Searchset(Condition("c2")))
            : (HttpStatusCode.OK, SearchsetWithNext("Condition?patient=p1&page=2", Condition("c1")));

        var record = await LoadAsync(Full(p => p.Remove("conditions")), Invocation(fhirServer: Server + "/")); // fhirServer with a trailing slash

        Assert.Equal(["c1", "c2"], record.Conditions.Select(c => c.Id));
        Assert.Equal(Server + "/Condition?patient=p1&page=2", _requests.Last().AbsoluteUri);
        Assert.Empty(record.DataGaps);
    }

    // ---- issue 15 item 6: _sort refused ----

    [Fact]
    public async Task SearchRefusedBecauseOfSort_IsAskedAgainWithoutIt()
    {
        _answer = u => u.Query.Contains("_sort", StringComparison.Ordinal)
            ? (HttpStatusCode.BadRequest, new JsonObject { ["resourceType"] = "OperationOutcome", ["issue"] = new JsonArray(new JsonObject { ["severity"] = "error", ["code"] = "not-supported" }) })
            : (HttpStatusCode.OK, Searchset(Observation("o1")));

        var record = await LoadAsync(Full(p => p.Remove("labs")));

        Assert.Equal(2, _requests.Count);
        Assert.DoesNotContain("_sort", _requests.Last().Query, StringComparison.Ordinal);
        Assert.Contains("_count=200", _requests.Last().Query, StringComparison.Ordinal);
        Assert.Equal(["o1"], record.Observations.Select(o => o.Id));
        Assert.Empty(record.DataGaps);
    }

    [Fact]
    public void WithoutSortOrInclude_RemovesEverySortAndIncludeParameterAndKeepsTheRest()
    {
        Assert.Equal("https://h/fhir/Observation?patient=p1&_count=200", FhirFetchClient.WithoutSortOrInclude(new Uri("https://h/fhir/Observation?patient=p1&_sort=-date&_count=200"))!.AbsoluteUri);
        Assert.Equal("https://h/fhir/ResearchSubject?patient=p1&_count=50",
            FhirFetchClient.WithoutSortOrInclude(new Uri("https://h/fhir/ResearchSubject?patient=p1&_include=ResearchSubject:study&_count=50"))!.AbsoluteUri);
        Assert.Null(FhirFetchClient.WithoutSortOrInclude(new Uri("https://h/fhir/Observation?patient=p1")));
    }

    // ---- issue 15 item 6: _include leftovers ----

    [Fact]
    public async Task ResourcesOfOtherTypesInASearch_AreIgnored()
    {
        var practitioner = new JsonObject { ["resourceType"] = "Practitioner", ["id"] = "dr" };
        var record = await LoadAsync(Full(p => p["conditions"] = Searchset(Condition("c1"), practitioner, Observation("leftover"))));

        Assert.Equal(["c1"], record.Conditions.Select(c => c.Id));
        Assert.Empty(record.Observations);
        Assert.Empty(record.DroppedResources);
    }

    [Fact]
    public async Task IncludedResourcesOfTheKeysOwnType_AreNotMatches_AndAreIgnored()
    {
        var labs = Searchset(Observation("match"), Observation("included"));
        labs["entry"]![0]!["search"] = new JsonObject { ["mode"] = "match" };
        labs["entry"]![1]!["search"] = new JsonObject { ["mode"] = "include" };

        var record = await LoadAsync(Full(p => p["labs"] = labs));

        Assert.Equal(["match"], record.Observations.Select(o => o.Id));
    }

    // ---- issue 17 items 4 and 5: the ResearchStudy and the Medication a resource names ----

    private static JsonObject Subject(string study) => new()
    {
        ["resourceType"] = "ResearchSubject", ["id"] = "rs1", ["status"] = "on-study",
        ["study"] = new JsonObject { ["reference"] = study }, ["individual"] = new JsonObject { ["reference"] = "Patient/p1" },
    };

    private static JsonObject Study(string id) => new()
    {
        ["resourceType"] = "ResearchStudy", ["id"] = id, ["status"] = "active",
        ["identifier"] = new JsonArray(new JsonObject { ["system"] = "https://clinicaltrials.gov", ["value"] = "NCT07282184" }),
    };

    private static JsonObject Administration(string medication) => new()
    {
        ["resourceType"] = "MedicationAdministration", ["id"] = "ma1", ["status"] = "completed",
        ["medicationReference"] = new JsonObject { ["reference"] = medication },
        ["subject"] = new JsonObject { ["reference"] = "Patient/p1" }, ["effectiveDateTime"] = "2026-03-04",
    };

    private static JsonObject Medication(string id) => new()
    {
        ["resourceType"] = "Medication", ["id"] = id,
        ["code"] = new JsonObject { ["coding"] = new JsonArray(new JsonObject { ["system"] = "http://www.nlm.nih.gov/research/umls/rxnorm", ["code"] = "32592" }) },
    };

    [Fact]
    public async Task IncludedStudyAndMedication_InThePrefetch_AreKept_OnlyWhenReferenced()
    {
        var subjects = Searchset(Subject("ResearchStudy/s1"), Study("s1"), Study("unrelated"));
        subjects["entry"]![1]!["search"] = new JsonObject { ["mode"] = "include" };
        var administrations = Searchset(Administration("Medication/m1"), Medication("m1"), Medication("m-other")); // no search.mode

        var record = await LoadAsync(Full(p =>
        {
            p["research-subjects"] = subjects;
            p["medication-administrations"] = administrations;
        }));

        Assert.Equal(["s1"], record.ResearchStudies.Select(s => s.Id));
        Assert.Equal(["m1"], record.Medications.Select(m => m.Id));
        Assert.Empty(_requests); // nothing left to read
    }

    [Fact]
    public async Task ReferencedStudyAndMedication_NotInThePrefetch_AreReadById()
    {
        _answer = u => u.AbsolutePath switch
        {
            "/fhir/ResearchStudy/s1" => (HttpStatusCode.OK, Study("s1")),
            "/fhir/Medication/m1" => (HttpStatusCode.OK, Medication("m1")),
            _ => (HttpStatusCode.NotFound, null),
        };

        var record = await LoadAsync(Full(p =>
        {
            p["research-subjects"] = Searchset(Subject("ResearchStudy/s1"));
            p["medication-administrations"] = Searchset(Administration("Medication/m1"));
            p["medication-requests"] = Searchset(new JsonObject
            {
                ["resourceType"] = "MedicationRequest", ["id"] = "mr1", ["status"] = "active", ["intent"] = "order",
                ["medicationReference"] = new JsonObject { ["reference"] = "Medication/gone" }, ["subject"] = new JsonObject { ["reference"] = "Patient/p1" },
            });
        }));

        Assert.Equal(["s1"], record.ResearchStudies.Select(s => s.Id));
        Assert.Equal(["m1"], record.Medications.Select(m => m.Id));
        Assert.Equal(["/fhir/Medication/gone", "/fhir/Medication/m1", "/fhir/ResearchStudy/s1"], _requests.Select(r => r.AbsolutePath).Order());
        // The one that could not be read is a data gap of its type, not a failure of the call.
        var gap = Assert.Single(record.DataGaps);
        Assert.Equal("Medication", gap.Category);
        Assert.Contains("Medication/gone", gap.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FetchedResearchSubjects_AskForTheirStudyWithInclude_AndKeepIt()
    {
        _answer = u => u.AbsolutePath.EndsWith("/ResearchSubject", StringComparison.Ordinal)
            ? (HttpStatusCode.OK, IncludeMode(Searchset(Subject("ResearchStudy/s1"), Study("s1")), 1))
            : (HttpStatusCode.OK, Searchset());

        var record = await LoadAsync(Full(p => p.Remove("research-subjects")));

        var search = Assert.Single(_requests, r => r.AbsolutePath.EndsWith("/ResearchSubject", StringComparison.Ordinal));
        Assert.Contains("_include=ResearchSubject:study", Uri.UnescapeDataString(search.Query), StringComparison.Ordinal);
        Assert.Equal(["s1"], record.ResearchStudies.Select(s => s.Id));
        Assert.DoesNotContain(_requests, r => r.AbsolutePath.Contains("/ResearchStudy/", StringComparison.Ordinal));
    }

    private static JsonObject IncludeMode(JsonObject bundle, int index)
    {
        bundle["entry"]![index]!["search"] = new JsonObject { ["mode"] = "include" };
        return bundle;
    }

    // ---- issue 13 item 18: other patients' resources ----

    [Fact]
    public async Task PrefetchResourcesOfAnotherPatient_AreDropped_AndListed()
    {
        var record = await LoadAsync(Full(p =>
        {
            p["conditions"] = Searchset(Condition("mine"), Condition("theirs", "Patient/p2"), Condition("nobody", "Group/g1"));
            p["labs"] = Searchset(Observation("theirs-afp", "https://ehr.example.org/fhir/Patient/p2"));
        }));

        Assert.Equal(["mine"], record.Conditions.Select(c => c.Id));
        Assert.Empty(record.Observations);
        Assert.Equal(
            ["conditions Condition/nobody refers to another patient", "conditions Condition/theirs refers to another patient", "labs Observation/theirs-afp refers to another patient"],
            record.DroppedResources.Select(d => $"{d.Key} {d.ResourceType}/{d.Id} {d.Reason}").Order());
    }

    [Fact]
    public async Task FetchedResourcesOfAnotherPatient_AreDroppedToo()
    {
        _answer = u => (HttpStatusCode.OK, Searchset(Observation("mine"), Observation("theirs", "Patient/p2")));

        var record = await LoadAsync(Full(p => p.Remove("labs")));

        Assert.Equal(["mine"], record.Observations.Select(o => o.Id));
        Assert.Equal("labs", Assert.Single(record.DroppedResources).Key);
    }

    [Fact]
    public async Task ACachedParse_IsCheckedAgainForEachPatient()
    {
        var cache = new PrefetchParseCache();
        var loader = Loader(cache);
        var conditions = Searchset(Condition("c-of-p1"));

        var first = await LoadAsync(Full(p => p["conditions"] = conditions.DeepClone()), loader: loader);
        var second = await LoadAsync(Full(p => { p["patient"] = Patient("p2"); p["conditions"] = conditions.DeepClone(); }), Invocation("p2"), loader);

        Assert.Equal(["c-of-p1"], first.Conditions.Select(c => c.Id));
        Assert.Empty(second.Conditions);
        Assert.Equal("Condition", Assert.Single(second.DroppedResources).ResourceType);
    }

    // ---- issue 13 item 4: what could not be read, per key ----

    [Fact]
    public async Task AFailingFetch_IsReportedPerKey_WithItsCategoryAndReason()
    {
        _answer = u => u.AbsolutePath.EndsWith("/AllergyIntolerance", StringComparison.Ordinal) ? (HttpStatusCode.ServiceUnavailable, null) : (HttpStatusCode.OK, Searchset());

        var record = await LoadAsync(Full(p => { p.Remove("allergies"); p.Remove("labs"); }));

        var gap = Assert.Single(record.DataGaps);
        Assert.Equal(("allergies", "AllergyIntolerance", "fetch failed: HTTP 503"), (gap.Key, gap.Category, gap.Reason));
        Assert.Equal(["AllergyIntolerance"], record.UnavailableData);
        Assert.Equal(["Observation"], record.FetchedData);
    }

    [Fact]
    public async Task LoadBudgetSpent_KeysStillLoadingAreReportedUnavailable()
    {
        var loader = Loader(options: new FhirOptions { LoadTimeoutSeconds = 0.5 });
        _hangs = u => u.AbsolutePath.EndsWith("/Procedure", StringComparison.Ordinal); // never answers

        var record = await LoadAsync(Full(p => { p.Remove("procedures"); p.Remove("allergies"); }), loader: loader);

        var gap = Assert.Single(record.DataGaps);
        Assert.Equal("procedures", gap.Key);
        Assert.Contains("Fhir:LoadTimeoutSeconds", gap.Reason, StringComparison.Ordinal);
        Assert.Equal(["AllergyIntolerance"], record.FetchedData);
    }
}
