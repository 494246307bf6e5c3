using Hl7.Fhir.Model;

namespace CdsRisk.Core.Patients;

/// <summary>
/// References to the resources a patient's record names but does not own: the Medication of an administration, a request or a
/// statement (R4 <c>medication[x]</c>: <c>medicationCodeableConcept</c> or <c>medicationReference</c>), the ResearchStudy of a
/// ResearchSubject. The loader reads them (<c>_include</c>, else one read each); the clinical code resolves them here.
/// </summary>
public static class FhirReferences
{
    /// <summary>
    /// The type and logical id of a literal reference (R4 §2.3.0: <c>Type/id</c>, optionally <c>/_history/vid</c>, relative or
    /// absolute), the id unescaped; null for a contained (<c>#id</c>), <c>urn:</c> or empty reference, or one without a type.
    /// Whose server an absolute reference names is for the caller to judge (<paramref name="absolute"/>).
    /// </summary>
    public static (string Type, string Id)? TypeAndId(string? reference, out Uri? absolute)
    {
        absolute = null;
        if (string.IsNullOrEmpty(reference) || reference.StartsWith('#') || reference.StartsWith("urn:", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var path = Uri.TryCreate(reference, UriKind.Absolute, out absolute) ? absolute.AbsolutePath.TrimStart('/') : reference;
        var segments = path.Split('/');
        var at = Array.LastIndexOf(segments, "_history");
        if (at >= 0)
        {
            segments = segments[..at];
        }

        return segments.Length >= 2 ? (segments[^2], Uri.UnescapeDataString(segments[^1])) : null;
    }

    /// <summary>The logical id that <paramref name="reference"/> names for a resource of <paramref name="type"/>; null otherwise (see <see cref="TypeAndId"/>).</summary>
    public static string? IdOf(string? reference, string type) =>
        TypeAndId(reference, out _) is { } named && string.Equals(named.Type, type, StringComparison.Ordinal) && named.Id.Length is > 0 and <= 64
            ? named.Id
            : null;

    /// <summary>The <c>Medication/{id}</c> and <c>ResearchStudy/{id}</c> a resource of the record names (not contained ones).</summary>
    public static IEnumerable<string> Named(Resource resource)
    {
        var (reference, type) = resource switch
        {
            MedicationAdministration m => ((m.Medication as ResourceReference)?.Reference, "Medication"),
            MedicationRequest m => ((m.Medication as ResourceReference)?.Reference, "Medication"),
            MedicationStatement m => ((m.Medication as ResourceReference)?.Reference, "Medication"),
            ResearchSubject r => (r.Study?.Reference, "ResearchStudy"),
            _ => (null, ""),
        };
        if (IdOf(reference, type) is { } id)
        {
            yield return type + "/" + id;
        }
    }

    /// <summary>
    /// The drug's code: <c>medicationCodeableConcept</c> as it is, or the <c>code</c> of the Medication that
    /// <c>medicationReference</c> names, contained in <paramref name="owner"/> (<c>#id</c>) or read with the record.
    /// </summary>
    public static CodeableConcept? MedicationCode(DataType? medication, DomainResource owner, IReadOnlyList<Medication> medications) => medication switch
    {
        CodeableConcept concept => concept,
        ResourceReference { Reference: { } r } when r.StartsWith('#') => owner.Contained.OfType<Medication>().FirstOrDefault(m => m.Id == r[1..])?.Code,
        ResourceReference { Reference: { } r } when IdOf(r, "Medication") is { } id => medications.FirstOrDefault(m => m.Id == id)?.Code,
        _ => null,
    };

    /// <summary>The ResearchStudy a subject's <c>study</c> names: contained (<c>#id</c>) or read with the record; null when neither.</summary>
    public static ResearchStudy? Study(ResearchSubject subject, IReadOnlyList<ResearchStudy> studies) => subject.Study?.Reference switch
    {
        { } r when r.StartsWith('#') => subject.Contained.OfType<ResearchStudy>().FirstOrDefault(s => s.Id == r[1..]),
        { } r when IdOf(r, "ResearchStudy") is { } id => studies.FirstOrDefault(s => s.Id == id),
        _ => null,
    };
}
