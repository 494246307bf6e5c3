using CdsRisk.Core.Cards;
using CdsRisk.Core.Patients;
using CdsRisk.UnitTests.Eligibility;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace CdsRisk.UnitTests.Cards;

/// <summary>
/// The evaluation cache hands one settled reading (the parsed <see cref="PatientRecord"/>) to every call with the same content, so
/// nothing between loading and the answer may change the record's resources: evaluating a vignette and building its cards, for
/// every hook, must leave each resource exactly as read.
/// </summary>
public sealed class SharedRecordTests
{
    private static readonly FhirJsonSerializer Json = new();

    public static TheoryData<string> Vignettes() => [.. Vignette.Names()];

    [Theory]
    [MemberData(nameof(Vignettes))]
    public void EvaluatingAndAnswering_LeavesTheRecordAsRead_SoASettledReadingCanServeManyCalls(string vignette)
    {
        var record = Vignette.Record(vignette);
        var before = Resources(record).Select(r => Json.SerializeToString(r)).ToList();

        foreach (var hook in new[] { CardBuilder.PatientView, CardBuilder.OrderSelect, CardBuilder.OrderSign })
        {
            var answer = VignetteCards.Answer(vignette, record, hook, hook == CardBuilder.PatientView ? null : id => [VignetteCards.Hepatectomy(id)]);
            Assert.NotNull(answer);
        }

        var after = Resources(record).Select(r => Json.SerializeToString(r)).ToList();
        Assert.NotEmpty(before);
        Assert.Equal(before, after);
    }

    private static IEnumerable<Resource> Resources(PatientRecord r) =>
        new Resource[] { r.Patient }
            .Concat(r.Conditions).Concat(r.Observations).Concat(r.Allergies).Concat(r.MedicationStatements).Concat(r.MedicationRequests)
            .Concat(r.Procedures).Concat(r.ServiceRequests).Concat(r.Appointments).Concat(r.ImagingStudies).Concat(r.ResearchSubjects)
            .Concat(r.MedicationAdministrations).Concat(r.Medications).Concat(r.ResearchStudies);
}
