using Hl7.Fhir.Model;

namespace CdsRisk.Core.Patients;

/// <summary>
/// Everything the service knows about one patient for one hook call, as FHIR R4 resources,
/// after prefetch and missing-prefetch fetches. The clinical core reads only this.
/// </summary>
public sealed record PatientRecord
{
    public required Patient Patient { get; init; }
    public IReadOnlyList<Condition> Conditions { get; init; } = [];
    public IReadOnlyList<Observation> Observations { get; init; } = [];
    public IReadOnlyList<AllergyIntolerance> Allergies { get; init; } = [];
    public IReadOnlyList<MedicationStatement> MedicationStatements { get; init; } = [];
    public IReadOnlyList<MedicationRequest> MedicationRequests { get; init; } = [];
    public IReadOnlyList<Procedure> Procedures { get; init; } = [];
    public IReadOnlyList<ServiceRequest> ServiceRequests { get; init; } = [];
    public IReadOnlyList<Appointment> Appointments { get; init; } = [];
    public IReadOnlyList<ImagingStudy> ImagingStudies { get; init; } = [];

    /// <summary>The patient's study enrolments (issue 17: on study → the follow-up card instead of the screening card).</summary>
    public IReadOnlyList<ResearchSubject> ResearchSubjects { get; init; } = [];

    /// <summary>Administrations of drugs: the protocol therapy's cycles (issue 17, pre-cycle labs).</summary>
    public IReadOnlyList<MedicationAdministration> MedicationAdministrations { get; init; } = [];

    /// <summary>Medications that a MedicationAdministration, MedicationRequest or MedicationStatement names by reference (<c>_include</c> or read).</summary>
    public IReadOnlyList<Medication> Medications { get; init; } = [];

    /// <summary>The ResearchStudy of each ResearchSubject (<c>_include</c> or read), so the trial's identifier can be checked.</summary>
    public IReadOnlyList<ResearchStudy> ResearchStudies { get; init; } = [];

    /// <summary>order-select only: the draft orders of the hook context and which of them are selected (Type/id).</summary>
    public IReadOnlyList<Resource> DraftOrders { get; init; } = [];
    public IReadOnlyList<string> SelectedOrders { get; init; } = [];

    /// <summary>Data categories that could not be loaded at all (e.g. "AllergyIntolerance"), so criteria relying on them are unknown rather than passed.</summary>
    public IReadOnlyList<string> UnavailableData { get; init; } = [];

    /// <summary>Data categories read from the FHIR server during this call (absent from prefetch, paginated, or an OperationOutcome in prefetch).</summary>
    public IReadOnlyList<string> FetchedData { get; init; } = [];

    /// <summary>
    /// Each prefetch key that could not be read completely, with its category and why (the server refused, timed out or its breaker
    /// is open, a next link left the hook's server, a cap was reached, the load budget ran out). The categories are
    /// <see cref="UnavailableData"/>; a key listed here may still have contributed what was read before it stopped.
    /// </summary>
    public IReadOnlyList<DataGap> DataGaps { get; init; } = [];

    /// <summary>Resources left out because their patient reference names another patient or none (issue 13 item 18), for the audit record.</summary>
    public IReadOnlyList<DroppedResource> DroppedResources { get; init; } = [];
}

/// <summary>A prefetch key (e.g. <c>labs</c>) of a data category (e.g. <c>Observation</c>) that could not be read completely, and why.</summary>
public sealed record DataGap(string Key, string Category, string Reason);

/// <summary>A resource not used as the patient's data: its prefetch key, type and id, and the reason (another patient, no patient reference).</summary>
public sealed record DroppedResource(string Key, string ResourceType, string? Id, string Reason);
