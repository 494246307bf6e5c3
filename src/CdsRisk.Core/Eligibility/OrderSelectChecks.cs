using CdsRisk.Core.Patients;
using Hl7.Fhir.Model;

namespace CdsRisk.Core.Eligibility;

/// <summary>A selected draft medication order for a drug the patient has a recorded hypersensitivity to.</summary>
public sealed record OrderAllergyConflict(string OrderReference, string OrderedDrug, string RegimenDrug, string AllergyReference, string AllergySubstance, DrugMatchAction Action);

/// <summary>Checks on the order-select hook's draft orders. Thread-safe.</summary>
public sealed class OrderSelectChecks
{
    private readonly PatientSnapshotBuilder _builder;

    public OrderSelectChecks(EligibilityData data) => _builder = new PatientSnapshotBuilder(data);

    /// <summary>The draft orders the clinician selected (context.selections, "Type/id"), in draft-order order.</summary>
    public static IReadOnlyList<Resource> SelectedDraftOrders(PatientRecord record) =>
        [.. record.DraftOrders.Where(o => record.SelectedOrders.Any(sel => sel == FhirRead.Ref(o) || sel.EndsWith("/" + FhirRead.Ref(o), StringComparison.Ordinal)))];

    /// <summary>True when a draft ServiceRequest or Procedure is a liver resection (value set "liver-resection").</summary>
    public bool IsLiverResection(Resource order) => order switch
    {
        ServiceRequest sr => _builder.IsLiverResection(sr.Code),
        Procedure p => _builder.IsLiverResection(p.Code),
        _ => false,
    };

    /// <summary>
    /// When a draft MedicationRequest orders a regimen drug (or one of its class) and the patient has a recorded allergy to the same
    /// regimen drug's class, the conflict; otherwise null. The medication is read from medicationCodeableConcept or a contained Medication.
    /// </summary>
    public OrderAllergyConflict? RegimenHypersensitivity(MedicationRequest order, PatientRecord record)
    {
        var concept = order.Medication switch
        {
            CodeableConcept cc => cc,
            ResourceReference { Reference: { } r } when r.StartsWith('#') =>
                order.Contained.OfType<Medication>().FirstOrDefault(m => m.Id == r[1..])?.Code,
            _ => null,
        };
        if (concept is null || _builder.MatchDrugClass([concept]) is not { } ordered)
        {
            return null;
        }

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

            if (_builder.MatchDrugClass(concepts) is { } allergy && allergy.Class.RegimenDrug == ordered.Class.RegimenDrug)
            {
                return new OrderAllergyConflict(FhirRead.Ref(order), FhirRead.Display(concept), ordered.Class.RegimenDrug,
                    FhirRead.Ref(a), FhirRead.Display(allergy.Concept), allergy.Class.OnMatch);
            }
        }

        return null;
    }
}
