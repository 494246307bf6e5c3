using CdsRisk.Core.Patients;
using Hl7.Fhir.Model;

namespace CdsRisk.Api.Fhir;

/// <summary>Whose data a resource is, as its patient reference says.</summary>
public enum PatientMatch
{
    /// <summary>It refers to the hook's patient.</summary>
    ThisPatient,

    /// <summary>It refers to another patient (or another kind of subject: a Group, a Device, a Location).</summary>
    OtherPatient,

    /// <summary>It names no patient that can be checked (no reference, an identifier-only or contained reference).</summary>
    NoPatientReference,
}

/// <summary>
/// Issue 13 item 18: a resource is used as the patient's data only when the element that names its patient names the hook's
/// <c>context.patientId</c>. Which element that is comes from the R4 resource definitions (the one the <c>patient</c> search
/// parameter indexes): <c>Condition.subject</c>, <c>Observation.subject</c>, <c>AllergyIntolerance.patient</c>,
/// <c>Appointment.participant.actor</c>, and so on.
/// </summary>
public static class PatientReferences
{
    /// <param name="resource">A resource read for the hook's patient.</param>
    /// <param name="patientId">The hook's context.patientId.</param>
    /// <param name="ownServer">The hook's fhirServer: an absolute reference must be below it; without one, only the type and id are compared.</param>
    public static PatientMatch Match(Resource resource, string patientId, AllowedBaseUrl? ownServer) => resource switch
    {
        Patient p => string.Equals(p.Id, patientId, StringComparison.Ordinal) ? PatientMatch.ThisPatient : PatientMatch.OtherPatient,
        Condition c => Match(c.Subject, patientId, ownServer),
        Observation o => Match(o.Subject, patientId, ownServer),
        AllergyIntolerance a => Match(a.Patient, patientId, ownServer),
        MedicationStatement m => Match(m.Subject, patientId, ownServer),
        MedicationRequest m => Match(m.Subject, patientId, ownServer),
        Procedure p => Match(p.Subject, patientId, ownServer),
        ServiceRequest s => Match(s.Subject, patientId, ownServer),
        ImagingStudy i => Match(i.Subject, patientId, ownServer),
        ResearchSubject r => Match(r.Individual, patientId, ownServer),
        MedicationAdministration m => Match(m.Subject, patientId, ownServer),
        Appointment a => MatchAny(a.Participant.Select(p => p.Actor), patientId, ownServer),
        _ => PatientMatch.NoPatientReference,
    };

    // Appointment (R4): the patient is one participant among practitioners and locations; one that is this patient is enough.
    private static PatientMatch MatchAny(IEnumerable<ResourceReference?> references, string patientId, AllowedBaseUrl? ownServer)
    {
        var result = PatientMatch.NoPatientReference;
        foreach (var reference in references)
        {
            switch (Match(reference, patientId, ownServer, patientOnly: true))
            {
                case PatientMatch.ThisPatient:
                    return PatientMatch.ThisPatient;
                case PatientMatch.OtherPatient:
                    result = PatientMatch.OtherPatient;
                    break;
            }
        }

        return result;
    }

    private static PatientMatch Match(ResourceReference? reference, string patientId, AllowedBaseUrl? ownServer, bool patientOnly = false)
    {
        // R4 §2.3.0 (References): "[type]/[id]", optionally "/_history/[vid]", relative or absolute (then on some server's base).
        var named = FhirReferences.TypeAndId(reference?.Reference, out var absolute);
        if (absolute is not null && ownServer is not null && !ownServer.Admits(absolute))
        {
            return PatientMatch.OtherPatient; // a patient on another server is not this server's patient
        }

        if (named is null)
        {
            return PatientMatch.NoPatientReference;
        }

        var (type, id) = named.Value;
        if (!string.Equals(type, "Patient", StringComparison.Ordinal))
        {
            return patientOnly ? PatientMatch.NoPatientReference : PatientMatch.OtherPatient;
        }

        return string.Equals(id, patientId, StringComparison.Ordinal) ? PatientMatch.ThisPatient : PatientMatch.OtherPatient;
    }
}
