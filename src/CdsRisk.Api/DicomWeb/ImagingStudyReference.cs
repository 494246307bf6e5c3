using Hl7.Fhir.Model;
using FhirEndpoint = Hl7.Fhir.Model.Endpoint;

namespace CdsRisk.Api.DicomWeb;

/// <summary>Where a study's images are: the DICOMweb base URL (from its Endpoint, if any), study UID, and the series it lists.</summary>
public sealed record ImagingStudyReference(Uri? BaseUrl, string StudyInstanceUid, IReadOnlyList<string> SeriesInstanceUids)
{
    /// <summary>
    /// Reads an R4 ImagingStudy: study UID from <c>identifier</c> with system <c>urn:dicom:uid</c> (value <c>urn:oid:…</c>);
    /// base URL from the first <c>dicom-wado-rs</c> Endpoint among <paramref name="endpoints"/> that the study (or a series) references,
    /// contained ones included; series UIDs of MR series (or series without modality).
    /// </summary>
    public static ImagingStudyReference FromFhir(ImagingStudy study, IEnumerable<FhirEndpoint>? endpoints = null)
    {
        var identifier = study.Identifier.FirstOrDefault(i => i.System == "urn:dicom:uid" && i.Value?.StartsWith("urn:oid:", StringComparison.Ordinal) == true)
            ?? study.Identifier.FirstOrDefault(i => i.Value?.StartsWith("urn:oid:", StringComparison.Ordinal) == true)
            ?? throw new DicomWebException(DicomWebError.NoStudyUid, "ImagingStudy has no identifier urn:dicom:uid with a urn:oid: value");
        var studyUid = identifier.Value!["urn:oid:".Length..];
        if (studyUid.Length == 0 || studyUid.Length > 64 || !studyUid.All(c => char.IsAsciiDigit(c) || c == '.'))
        {
            throw new DicomWebException(DicomWebError.NoStudyUid, "the ImagingStudy's study UID is not a valid DICOM UID");
        }

        var known = (endpoints ?? []).Concat(study.Contained.OfType<FhirEndpoint>()).ToList();
        Uri? baseUrl = null;
        foreach (var reference in study.Endpoint.Concat(study.Series.SelectMany(s => s.Endpoint)))
        {
            var id = reference.Reference?.Split('/').Last().TrimStart('#');
            var endpoint = known.FirstOrDefault(e => e.Id == id);
            if (endpoint?.ConnectionType?.Code == "dicom-wado-rs" && Uri.TryCreate(endpoint.Address, UriKind.Absolute, out var address))
            {
                baseUrl = address;
                break;
            }
        }

        var series = study.Series
            .Where(s => s.Modality?.Code is null or "MR" && !string.IsNullOrEmpty(s.Uid))
            .Select(s => s.Uid!).ToList();
        return new ImagingStudyReference(baseUrl, studyUid, series);
    }
}
