using System.Text;
using CdsRisk.Api.Fhir;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Scoring;

/// <summary>The FHIR Patient of a DICOM PatientID, or why there is none to take.</summary>
public sealed record PatientResolution(string? PatientId, string? Problem);

/// <summary>
/// Finds the FHIR Patient a study belongs to from its DICOM PatientID (0010,0020): <c>Patient?identifier=&lt;system&gt;|&lt;value&gt;</c> on
/// the scoring client's FHIR server, read with its backend credential. Exactly one Patient must carry that identifier: none or
/// several is a study that cannot be scored for anyone (a wrong match would score, and write to, another patient's record).
/// </summary>
public sealed class DicomPatientResolver(FhirFetchClient fetcher, IOptions<FhirOptions> fhirOptions)
{
    private readonly AllowedBaseUrls _allowed = AllowedBaseUrls.Parse(fhirOptions.Value.AllowedServers);

    public async Task<PatientResolution> ResolveAsync(Uri server, string token, string system, string dicomPatientId, CancellationToken cancellationToken)
    {
        var query = $"{server.AbsoluteUri.TrimEnd('/')}/Patient?identifier={Uri.EscapeDataString(system + "|" + EscapeSearchValue(dicomPatientId))}&_count=2";
        var result = await fetcher.GetAsync(new Uri(query), token, _allowed, cancellationToken);
        if (!result.Complete)
        {
            return new PatientResolution(null, $"the FHIR server could not be searched for the study's patient ({result.Problem})");
        }

        // The server's token matching may be looser (case, normalisation): only an exact system and value count.
        var matches = result.Resources.OfType<Patient>()
            .Where(p => p.Identifier.Any(i => string.Equals(i.System, system, StringComparison.Ordinal) && string.Equals(i.Value, dicomPatientId, StringComparison.Ordinal)))
            .Select(p => p.Id).Where(id => !string.IsNullOrEmpty(id)).Distinct(StringComparer.Ordinal).ToList();
        return matches.Count switch
        {
            1 => new PatientResolution(matches[0], null),
            0 => new PatientResolution(null, $"no Patient on the FHIR server has the study's DICOM PatientID as an identifier of system {system}"),
            _ => new PatientResolution(null, $"several Patients on the FHIR server have the study's DICOM PatientID as an identifier of system {system}; the study is scored for none of them"),
        };
    }

    /// <summary>FHIR R4 search §2.1.1.4.7 (escaping search parameters): <c>\</c>, <c>|</c>, <c>,</c> and <c>$</c> in a value are escaped with <c>\</c>.</summary>
    internal static string EscapeSearchValue(string value)
    {
        var escaped = new StringBuilder(value.Length + 4);
        foreach (var c in value)
        {
            if (c is '\\' or '|' or ',' or '$')
            {
                escaped.Append('\\');
            }

            escaped.Append(c);
        }

        return escaped.ToString();
    }
}
