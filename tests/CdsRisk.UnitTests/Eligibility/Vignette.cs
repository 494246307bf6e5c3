using System.Text.Json;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace CdsRisk.UnitTests.Eligibility;

/// <summary>Loads a vignette (FHIR Bundle + expectations) from TestData/vignettes.</summary>
internal static class Vignette
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "TestData", "vignettes");

    public static IEnumerable<string> Names() =>
        Directory.GetFiles(Folder, "*.expected.json").Select(f => Path.GetFileName(f)[..^".expected.json".Length]).Order(StringComparer.Ordinal);

    public static PatientRecord Record(string name) => FromBundle(ParseBundle(File.ReadAllText(Path.Combine(Folder, name + ".json"))));

    public static JsonElement Expected(string name) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, name + ".expected.json"))).RootElement.Clone();

    public static Bundle ParseBundle(string json) => (Bundle)new FhirJsonDeserializer().DeserializeResource(json);

    public static PatientRecord FromBundle(Bundle bundle)
    {
        var resources = bundle.Entry.Select(e => e.Resource).ToList();
        return new PatientRecord
        {
            Patient = resources.OfType<Patient>().Single(),
            Conditions = [.. resources.OfType<Condition>()],
            Observations = [.. resources.OfType<Observation>()],
            Allergies = [.. resources.OfType<AllergyIntolerance>()],
            ServiceRequests = [.. resources.OfType<ServiceRequest>()],
            Procedures = [.. resources.OfType<Procedure>()],
            Appointments = [.. resources.OfType<Appointment>()],
            ImagingStudies = [.. resources.OfType<ImagingStudy>()],
            MedicationRequests = [.. resources.OfType<MedicationRequest>()],
        };
    }

    /// <summary>
    /// The engine's inputs for a vignette: its evaluation time, its PRE and what the images showed. A computed PRE means the images
    /// were read and accepted, so unless the vignette says otherwise ("mri": {"status", "reason"}, or "none") the MRI assessment is a pass.
    /// </summary>
    public static EligibilityInputs Inputs(JsonElement expected)
    {
        var pre = Pre(expected.GetProperty("pre"));
        MriAssessment? mri = pre.Status == PreScoreStatus.Computed
            ? new MriAssessment(CriterionStatus.Pass, "all four phases found and readable (4 volumes)", [])
            : null;
        if (expected.TryGetProperty("mri", out var m))
        {
            mri = m.ValueKind == JsonValueKind.String ? null : new MriAssessment(
                m.GetProperty("status").GetString() switch
                {
                    "pass" => CriterionStatus.Pass,
                    "unknown" => CriterionStatus.Unknown,
                    var other => throw new InvalidDataException($"mri status {other}"),
                },
                m.GetProperty("reason").GetString()!,
                []);
        }

        return new EligibilityInputs(DateTimeOffset.Parse(expected.GetProperty("evaluatedAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture), pre, mri);
    }

    public static PreScoreState Pre(JsonElement pre) => pre.GetProperty("status").GetString() switch
    {
        "computed" => PreScoreState.Computed(pre.GetProperty("value").GetDouble()),
        "pending" => PreScoreState.Pending(),
        "unavailable" => PreScoreState.Unavailable(pre.GetProperty("reason").GetString()!),
        var s => throw new InvalidDataException($"pre status {s}"),
    };
}
