using CdsRisk.Core.Patients;
using Hl7.Fhir.Model;

namespace CdsRisk.Core.Eligibility;

/// <summary>How the ordered drug relates to the drug of the recorded allergy.</summary>
public enum DrugRelation
{
    /// <summary>The allergy is recorded to the drug being ordered.</summary>
    SameDrug,
    /// <summary>Another drug of the same class (e.g. two PD-1 antibodies).</summary>
    SameClass,
    /// <summary>Related classes (e.g. oxaliplatin and carboplatin, PD-1 and PD-L1 inhibitors): cross-reactivity is possible, not established.</summary>
    PossibleCrossReactivity,
}

/// <summary>
/// A selected draft medication order for a drug related to one the patient has a recorded hypersensitivity to: the order, the
/// ordered drug and its class, the allergy as recorded (its allergen and class) and how the two relate.
/// </summary>
public sealed record OrderAllergyConflict(
    string OrderReference,
    string OrderedDrug,
    string RegimenDrug,
    string AllergyReference,
    string AllergySubstance,
    DrugMatchAction Action,
    DrugRelation Relation,
    string OrderedClass,
    string AllergyClass)
{
    /// <summary>"same drug", "same drug class (PD-1 inhibitors)", "possible cross-reactivity (oxaliplatin and other platinum compounds)".</summary>
    public string RelationText => Relation switch
    {
        DrugRelation.SameDrug => "same drug",
        DrugRelation.SameClass => $"same drug class ({OrderedClass})",
        _ => $"possible cross-reactivity ({AllergyClass} and {OrderedClass})",
    };
}

/// <summary>Checks on the order-select hook's draft orders. Thread-safe.</summary>
public sealed class OrderSelectChecks
{
    private readonly PatientSnapshotBuilder _builder;

    public OrderSelectChecks(EligibilityData data) => _builder = new PatientSnapshotBuilder(data);

    /// <summary>The draft orders the clinician selected (context.selections, "Type/id"), in draft-order order.</summary>
    public static IReadOnlyList<Resource> SelectedDraftOrders(PatientRecord record) =>
        [.. record.DraftOrders.Where(o => record.SelectedOrders.Any(sel => sel == FhirRead.Ref(o) || sel.EndsWith("/" + FhirRead.Ref(o), StringComparison.Ordinal)))];

    /// <summary>
    /// The orders a call is about: order-select's selections, or every draft order of order-sign (CDS Hooks order-sign has no
    /// selections: all of draftOrders is being signed).
    /// </summary>
    public static IReadOnlyList<Resource> OrdersOfTheCall(PatientRecord record, bool allDraftOrders) =>
        allDraftOrders ? record.DraftOrders : SelectedDraftOrders(record);

    /// <summary>What a ServiceRequest or Procedure order says it is, as the EHR displays it (its code's text or display); null otherwise.</summary>
    public static string? Display(Resource order) => order switch
    {
        ServiceRequest { Code: { } code } => FhirRead.Display(code),
        Procedure { Code: { } code } => FhirRead.Display(code),
        _ => null,
    };

    /// <summary>
    /// Whether an order concerns the trial: a liver resection, or a medication of one of the value sets' drug classes (a regimen drug
    /// or one related to it). Everything else is unrelated and gets no card. A sparse order (no code, no medication) is unrelated.
    /// </summary>
    public bool ConcernsTheTrial(Resource order) =>
        IsLiverResection(order) || (order is MedicationRequest m && OrderedMedication(m) is { } concept && _builder.MatchDrug([concept]) is not null);

    /// <summary>True when a draft ServiceRequest or Procedure is a liver resection (value set "liver-resection").</summary>
    public bool IsLiverResection(Resource order) => order switch
    {
        ServiceRequest sr => _builder.IsLiverResection(sr.Code),
        Procedure p => _builder.IsLiverResection(p.Code),
        _ => false,
    };

    /// <summary>
    /// When a draft MedicationRequest orders a drug of one of the value sets' drug classes and the patient has a recorded allergy to a
    /// drug of the same or a related class (tied to the same regimen drug), the conflict with the recorded allergen and how the two
    /// relate; otherwise null. An allergy to the ordered drug itself comes first. The medication is read from
    /// medicationCodeableConcept or a contained Medication.
    /// </summary>
    public OrderAllergyConflict? RegimenHypersensitivity(MedicationRequest order, PatientRecord record)
    {
        var concept = OrderedMedication(order);
        if (concept is null || _builder.MatchDrug([concept]) is not { } ordered)
        {
            return null;
        }

        OrderAllergyConflict? best = null;
        foreach (var a in record.Allergies)
        {
            if (!FhirRead.IsRecorded(a))
            {
                continue;
            }

            IEnumerable<CodeableConcept> concepts = a.Reaction.Select(r => r.Substance).OfType<CodeableConcept>();
            if (a.Code is not null)
            {
                concepts = concepts.Prepend(a.Code);
            }

            if (_builder.MatchDrug(concepts) is not { } allergy || allergy.Class.RegimenDrug != ordered.Class.RegimenDrug)
            {
                continue;
            }

            var relation = allergy.Class.Id != ordered.Class.Id ? DrugRelation.PossibleCrossReactivity
                : allergy.Match.Drug == ordered.Match.Drug || IsSingleDrug(allergy.Class) ? DrugRelation.SameDrug
                : DrugRelation.SameClass;
            var conflict = new OrderAllergyConflict(FhirRead.Ref(order), FhirRead.Display(concept), ordered.Class.RegimenDrug,
                FhirRead.Ref(a), FhirRead.Display(allergy.Concept), allergy.Class.OnMatch, relation, ordered.Class.Name, allergy.Class.Name);
            if (best is null || relation < best.Relation)
            {
                best = conflict;
            }
        }

        return best;
    }

    /// <summary>The ordered medication: medicationCodeableConcept or a contained Medication's code; null when the order names none.</summary>
    private static CodeableConcept? OrderedMedication(MedicationRequest order) => order.Medication switch
    {
        CodeableConcept cc => cc,
        ResourceReference { Reference: { } r } when r.StartsWith('#') =>
            order.Contained.OfType<Medication>().FirstOrDefault(m => m.Id == r[1..])?.Code,
        _ => null,
    };

    /// <summary>A class whose codes all name one drug (oxaliplatin, lenvatinib): any two matches are the same drug (a brand name, a code).</summary>
    private static bool IsSingleDrug(DrugClass c) =>
        c.Codes.Codes.Count > 0 && c.Codes.Codes.Select(x => (x.Display ?? x.Code).ToLowerInvariant()).Distinct().Count() == 1;
}
