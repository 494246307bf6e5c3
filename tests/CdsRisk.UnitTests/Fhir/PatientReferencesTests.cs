using CdsRisk.Api.Fhir;
using Hl7.Fhir.Model;

namespace CdsRisk.UnitTests.Fhir;

/// <summary>Issue 13 item 18: which element names a resource's patient, and when it names the hook's patient.</summary>
public sealed class PatientReferencesTests
{
    private static readonly AllowedBaseUrl Own = AllowedBaseUrl.For(new Uri("https://ehr.example.org/fhir/"))!;

    [Theory]
    [InlineData("Patient/p1", PatientMatch.ThisPatient)]
    [InlineData("Patient/p1/_history/3", PatientMatch.ThisPatient)]
    [InlineData("https://ehr.example.org/fhir/Patient/p1", PatientMatch.ThisPatient)]
    [InlineData("https://EHR.example.org:443/fhir/Patient/p1/_history/2", PatientMatch.ThisPatient)]
    [InlineData("Patient/p2", PatientMatch.OtherPatient)]
    [InlineData("Patient/P1", PatientMatch.OtherPatient)] // ids are case-sensitive
    [InlineData("Patient/p1x", PatientMatch.OtherPatient)]
    [InlineData("https://other.example.org/fhir/Patient/p1", PatientMatch.OtherPatient)] // the same id on another server is another patient
    [InlineData("https://ehr.example.org/fhir2/Patient/p1", PatientMatch.OtherPatient)]
    [InlineData("Group/p1", PatientMatch.OtherPatient)]
    [InlineData("Device/d1", PatientMatch.OtherPatient)]
    [InlineData("#contained", PatientMatch.NoPatientReference)]
    [InlineData("urn:uuid:4f1c5b0e-8a3a-4d4e-9f43-9f0c1c2d3e4f", PatientMatch.NoPatientReference)]
    [InlineData("p1", PatientMatch.NoPatientReference)]
    public void Condition_Subject(string reference, PatientMatch expected) =>
        Assert.Equal(expected, PatientReferences.Match(new Condition { Subject = new ResourceReference(reference) }, "p1", Own));

    [Fact]
    public void WithoutAFhirServer_AnAbsoluteReferenceIsComparedByTypeAndId() =>
        Assert.Equal(PatientMatch.ThisPatient, PatientReferences.Match(new Condition { Subject = new ResourceReference("https://any.example/fhir/Patient/p1") }, "p1", null));

    [Fact]
    public void NoSubject_OrAnIdentifierOnly_NamesNoPatient()
    {
        Assert.Equal(PatientMatch.NoPatientReference, PatientReferences.Match(new Condition(), "p1", Own));
        Assert.Equal(PatientMatch.NoPatientReference, PatientReferences.Match(
            new Observation { Subject = new ResourceReference { Identifier = new Identifier("urn:mrn", "42") } }, "p1", Own));
    }

    public static TheoryData<Resource, PatientMatch> EachType => new()
    {
        { new Observation { Subject = new ResourceReference("Patient/p1") }, PatientMatch.ThisPatient },
        { new Observation { Subject = new ResourceReference("Patient/p2") }, PatientMatch.OtherPatient },
        { new AllergyIntolerance { Patient = new ResourceReference("Patient/p1") }, PatientMatch.ThisPatient },
        { new AllergyIntolerance { Patient = new ResourceReference("Patient/p2") }, PatientMatch.OtherPatient },
        { new MedicationStatement { Subject = new ResourceReference("Patient/p2") }, PatientMatch.OtherPatient },
        { new MedicationRequest { Subject = new ResourceReference("Patient/p1") }, PatientMatch.ThisPatient },
        { new MedicationRequest { Subject = new ResourceReference("Patient/p2") }, PatientMatch.OtherPatient },
        { new Procedure { Subject = new ResourceReference("Patient/p2") }, PatientMatch.OtherPatient },
        { new ServiceRequest { Subject = new ResourceReference("Patient/p2") }, PatientMatch.OtherPatient },
        { new ImagingStudy { Subject = new ResourceReference("Patient/p1") }, PatientMatch.ThisPatient },
        { new ImagingStudy { Subject = new ResourceReference("Patient/p2") }, PatientMatch.OtherPatient },
        { new Patient { Id = "p1" }, PatientMatch.ThisPatient },
        { new Patient { Id = "p2" }, PatientMatch.OtherPatient },
        { new Practitioner { Id = "p1" }, PatientMatch.NoPatientReference },
    };

    [Theory]
    [MemberData(nameof(EachType))]
    public void EachResourceType_IsCheckedOnTheElementThatNamesItsPatient(Resource resource, PatientMatch expected) =>
        Assert.Equal(expected, PatientReferences.Match(resource, "p1", Own));

    [Fact]
    public void Appointment_ThisPatientAmongTheParticipants_IsEnough()
    {
        static Appointment With(params string[] actors) =>
            new() { Participant = [.. actors.Select(a => new Appointment.ParticipantComponent { Actor = new ResourceReference(a) })] };

        Assert.Equal(PatientMatch.ThisPatient, PatientReferences.Match(With("Practitioner/dr", "Location/or-1", "Patient/p1"), "p1", Own));
        Assert.Equal(PatientMatch.OtherPatient, PatientReferences.Match(With("Practitioner/dr", "Patient/p2"), "p1", Own));
        Assert.Equal(PatientMatch.NoPatientReference, PatientReferences.Match(With("Practitioner/dr", "Location/or-1"), "p1", Own));
    }
}
