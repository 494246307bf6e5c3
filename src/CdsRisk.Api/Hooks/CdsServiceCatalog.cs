namespace CdsRisk.Api.Hooks;

/// <summary>One prefetch key: its FHIR query template, the resource category it feeds and whether the service cannot work without it.</summary>
public sealed record PrefetchTemplate(string Key, string Query, string Category, bool Required = false)
{
    /// <summary>The resource type the query reads or searches (<c>Patient/{{…}}</c>, <c>Observation?…</c>); other types in its answer are ignored.</summary>
    public string ResourceType { get; } = Query[..Math.Max(0, Query.IndexOfAny(['/', '?']))];

    /// <summary>
    /// Issue 17: what the service adds to the query when it fetches the key itself, e.g. <c>ResearchSubject:study</c>. Not part of the
    /// discovery template (CDS Hooks 2.0 recommends prefetch templates without <c>_include</c>); a resource it brings is kept only when
    /// a resource of the key refers to it, and what neither the prefetch nor the search brought is read one by one.
    /// </summary>
    public string? FetchInclude { get; init; }

    /// <summary>The type <see cref="FetchInclude"/> brings (e.g. <c>ResearchStudy</c>); empty when none.</summary>
    public IReadOnlyList<string> Included { get; init; } = [];
}

/// <summary>A service this host offers, with what discovery lists about it.</summary>
public sealed record CdsServiceDefinition(string Id, string Hook, string Title, string Description, IReadOnlyList<PrefetchTemplate> Prefetch)
{
    public CdsService ToDiscovery() => new()
    {
        Id = Id,
        Hook = Hook,
        Title = Title,
        Description = Description,
        Prefetch = Prefetch.ToDictionary(p => p.Key, p => p.Query, StringComparer.Ordinal),
        UsageRequirements = "Send fhirServer (and fhirAuthorization when the server needs a token) so that missing prefetch keys can be fetched.",
    };
}

/// <summary>The CDS Services of trial NCT07282184. Ids are stable: EHR configurations point at them.</summary>
public static class CdsServiceCatalog
{
    public const string PatientViewId = "nct07282184-patient-view";
    public const string OrderSelectId = "nct07282184-order-select";
    public const string OrderSignId = "nct07282184-order-sign";

    public const string PatientViewHook = CdsRisk.Core.HookNames.PatientView;
    public const string OrderSelectHook = CdsRisk.Core.HookNames.OrderSelect;
    public const string OrderSignHook = CdsRisk.Core.HookNames.OrderSign;

    private const string Loinc = "http://loinc.org";
    private const string LocalObservation = "https://cdsrisk.example.org/fhir/CodeSystem/observation";

    // docs/contracts.md §1. Laboratory values and the clinical observations the criteria read; every LOINC code of the value sets'
    // obs-* lists must be here (a unit test checks), the eGFR ones being the LOINC eGFR group.
    private static readonly string[] LabCodes =
    [
        "1834-1", "1751-7", "1975-2", "14631-6", "6301-6", "2160-0", "14682-9", "777-3",
        "33914-3", "48642-3", "48643-1", "50044-7", "70969-1", "77147-7", "62238-1", "88293-6", "88294-4", "98979-8", "98980-6",
        "50210-4", "94677-2", "76633-7", "69405-9", "50384-7",
        // Follow-up (issue 17): ALT, AST, neutrophils, TSH, urine protein (24 h, dipstick), the pathology report's final diagnosis.
        "1742-6", "1744-2", "1920-8", "751-8", "26499-4", "3016-3", "11580-8", "2889-4", "20454-5", "22637-3", "34574-4",
    ];

    private static readonly string[] ClinicalLoincCodes = ["89247-1", "85354-9", "88020-3", "33728-7", "21889-1"];
    private static readonly string[] ClinicalLocalCodes = ["hcc-nodule-count", "bclc-stage", "ascites-grade", "hepatic-encephalopathy-grade"];

    // Only the CDS Hooks 2.0 recommended template subset: instance reads and type searches with
    // token parameters, _count and _sort (§Prefetch Template). 2.0 has no token for "today", so a
    // template cannot say "the last 30 days": searches are sorted newest first and capped with
    // _count, and the eligibility engine applies the date windows in code.
    public static IReadOnlyList<PrefetchTemplate> Templates { get; } =
    [
        new("patient", "Patient/{{context.patientId}}", "Patient", Required: true),
        new("conditions", "Condition?patient={{context.patientId}}&_count=200", "Condition"),
        new("labs", $"Observation?patient={{{{context.patientId}}}}&code={Codes(Loinc, LabCodes)}&_sort=-date&_count=200", "Observation"),
        new("clinical-observations", $"Observation?patient={{{{context.patientId}}}}&code={Codes(Loinc, ClinicalLoincCodes)},{Codes(LocalObservation, ClinicalLocalCodes)}&_sort=-date&_count=200", "Observation"),
        new("allergies", "AllergyIntolerance?patient={{context.patientId}}&_count=200", "AllergyIntolerance"),
        // Issue 17: a drug named by medicationReference is read from its Medication (fetched: R4 search §3.1.1.5.5 _include).
        new("medication-statements", "MedicationStatement?patient={{context.patientId}}&_count=200", "MedicationStatement") { FetchInclude = "MedicationStatement:medication", Included = ["Medication"] },
        new("medication-requests", "MedicationRequest?patient={{context.patientId}}&_count=200", "MedicationRequest") { FetchInclude = "MedicationRequest:medication", Included = ["Medication"] },
        new("procedures", "Procedure?patient={{context.patientId}}&_count=200", "Procedure"),
        new("service-requests", "ServiceRequest?patient={{context.patientId}}&_count=200", "ServiceRequest"),
        new("appointments", "Appointment?patient={{context.patientId}}&_count=200", "Appointment"),
        // No modality filter: the R4 `modality` search parameter indexes ImagingStudy.series.modality only, so a study that records
        // its modality at study level (series is 0..*) would never be found. MR studies are selected in code (PatientSnapshotBuilder).
        new("mr-imaging-studies", "ImagingStudy?patient={{context.patientId}}&_sort=-started&_count=50", "ImagingStudy"),
        // Issue 17: whether the patient is on study (R4 ResearchSubject has a `patient` search parameter), and the therapy's cycles.
        // The study each subject is in is read too, so its identifier (NCT07282184) can be checked.
        new("research-subjects", "ResearchSubject?patient={{context.patientId}}&_count=50", "ResearchSubject") { FetchInclude = "ResearchSubject:study", Included = ["ResearchStudy"] },
        new("medication-administrations", "MedicationAdministration?patient={{context.patientId}}&_count=200", "MedicationAdministration") { FetchInclude = "MedicationAdministration:medication", Included = ["Medication"] },
    ];

    public static IReadOnlyList<CdsServiceDefinition> Services { get; } =
    [
        new(PatientViewId, PatientViewHook, "NCT07282184 eligibility and PRE risk",
            "For a patient with early hepatocellular carcinoma planned for liver resection: screens for NCT07282184 from the trial criteria and the pre-operative MRI PRE risk score (high risk of aggressive recurrence when PRE >= 0.5); a potential candidate is one to refer to the trial team for screening.",
            Templates),
        new(OrderSelectId, OrderSelectHook, "NCT07282184 screening when a liver resection is selected",
            "When a liver resection or a drug of the trial's regimen is selected: screens the patient for NCT07282184 (a potential candidate is one to refer to the trial team for screening) and flags a regimen drug related to a recorded hypersensitivity. Other orders get no card.",
            Templates),
        new(OrderSignId, OrderSignHook, "NCT07282184 screening when a liver resection is signed",
            "When orders are signed that include a liver resection or a drug of the trial's regimen: screens the patient for NCT07282184 (a potential candidate is one to refer to the trial team for screening) and flags a regimen drug related to a recorded hypersensitivity. Other orders get no card.",
            Templates),
    ];

    public static CdsServiceDefinition? Find(string id) => Services.FirstOrDefault(s => string.Equals(s.Id, id, StringComparison.Ordinal));

    private static string Codes(string system, IEnumerable<string> codes) => string.Join(',', codes.Select(c => $"{system}|{c}"));
}
