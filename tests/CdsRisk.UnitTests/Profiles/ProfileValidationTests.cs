using CdsRisk.Core.Cards;
using CdsRisk.Core.WriteBack;
using CdsRisk.UnitTests.Cards;
using CdsRisk.UnitTests.WriteBack;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace CdsRisk.UnitTests.Profiles;

[Collection(ProfileValidatorCollection.Name)]
public sealed class ProfileValidationTests(ProfileValidator validator)
{
    public static TheoryData<string> Examples() =>
        [.. ExampleFiles()];

    private static IEnumerable<string> ExampleFiles() =>
        Directory.GetFiles(Path.Combine(ProfileValidator.ProfilesDirectory, "examples"), "*.json").Select(f => Path.GetFileName(f)).Order();

    [Fact]
    public void BuiltWrites_ConformToTheirProfiles_WithZeroErrors()
    {
        foreach (var write in WriteBackBundle.Writes(TestAssessments.HighRisk()))
        {
            AssertConforms(write.Resource, Claimed(write.Resource));
        }
    }

    [Fact]
    public void BuiltWrites_ForLowRiskWithoutModelCardOrFhirImagingStudy_ConformWithZeroErrors()
    {
        var input = TestAssessments.HighRisk() with
        {
            Pre = 0.12,
            Model = TestAssessments.ReferenceModel with { ModelCardUrl = null, IsReferenceModel = false },
            ImagingStudyReference = null,
            EncounterReference = null,
            ConditionReference = null,
            ObservationReferences = [],
            ImputedFeatures = [],
            MissingData = [],
        };
        foreach (var write in WriteBackBundle.Writes(input))
        {
            AssertConforms(write.Resource, Claimed(write.Resource));
        }
    }

    [Fact]
    public void CardSuggestionResources_ConformToBaseR4_WithZeroErrors()
    {
        var resources = CardFixtures.All()
            .SelectMany(g => CardBuilder.Build(g.Input))
            .Append(Assert.Single(CardBuilder.Build(CardFixtures.Eligible() with { RiskAssessmentReference = null, UserReference = null, EncounterReference = null })))
            .SelectMany(c => c.Suggestions).SelectMany(s => s.Actions)
            .Select(a => a.Resource).OfType<Resource>()
            .ToList();
        Assert.Contains(resources, r => r is ServiceRequest);
        Assert.Contains(resources, r => r is ResearchSubject);
        foreach (var resource in resources)
        {
            var errors = validator.Errors(resource);
            Assert.True(errors.Count == 0, resource.TypeName + ":\n" + ProfileValidator.Describe(errors));
        }
    }

    [Fact]
    public void TransactionBundle_ConformsToBaseBundle_WithZeroErrors()
    {
        var bundle = WriteBackBundle.Transaction(TestAssessments.HighRisk());
        var errors = validator.Errors(bundle);
        Assert.True(errors.Count == 0, ProfileValidator.Describe(errors));
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Example_ConformsToTheProfileItClaims(string file)
    {
        var json = File.ReadAllText(Path.Combine(ProfileValidator.ProfilesDirectory, "examples", file));
        var resource = new FhirJsonDeserializer().Deserialize<Resource>(json);
        var profile = Claimed(resource);
        Assert.StartsWith("https://cdsrisk.example.org/fhir/StructureDefinition/", profile);
        AssertConforms(resource, profile);
    }

    [Fact]
    public void ExamplesDirectory_HoldsOneExamplePerResourceProfile()
    {
        var claimed = ExampleFiles()
            .Select(f => Claimed(new FhirJsonDeserializer().Deserialize<Resource>(File.ReadAllText(Path.Combine(ProfileValidator.ProfilesDirectory, "examples", f)))))
            .Order()
            .ToList();
        Assert.Equal([FhirCodes.DeviceProfile, FhirCodes.ProvenanceProfile, FhirCodes.RiskAssessmentProfile], claimed);
    }

    [Fact]
    public void RiskAssessment_WithoutIdentifier_FailsTheProfile()
    {
        var ra = Built<RiskAssessment>();
        ra.Identifier.Clear();
        AssertFails(ra, FhirCodes.RiskAssessmentProfile);
    }

    [Fact]
    public void RiskAssessment_WithAnotherCode_FailsTheProfile()
    {
        var ra = Built<RiskAssessment>();
        ra.Code = new CodeableConcept("http://snomed.info/sct", "225338004", "Risk assessment");
        AssertFails(ra, FhirCodes.RiskAssessmentProfile);
    }

    [Fact]
    public void RiskAssessment_WithoutPerformerOrBasis_FailsTheProfile()
    {
        var noPerformer = Built<RiskAssessment>();
        noPerformer.Performer = null;
        AssertFails(noPerformer, FhirCodes.RiskAssessmentProfile);

        var noBasis = Built<RiskAssessment>();
        noBasis.Basis.Clear();
        AssertFails(noBasis, FhirCodes.RiskAssessmentProfile);
    }

    [Fact]
    public void RiskAssessment_WithQualitativeRiskOutsideRiskProbability_FailsTheProfile()
    {
        var ra = Built<RiskAssessment>();
        ra.Prediction[0].QualitativeRisk = new CodeableConcept("http://terminology.hl7.org/CodeSystem/risk-probability", "very-high");
        AssertFails(ra, FhirCodes.RiskAssessmentProfile);
    }

    [Fact]
    public void RiskAssessment_WithAFiveYearWindow_FailsTheProfile()
    {
        var ra = Built<RiskAssessment>();
        var when = Assert.IsType<Hl7.Fhir.Model.Range>(ra.Prediction[0].When);
        when.High!.Value = 5;
        AssertFails(ra, FhirCodes.RiskAssessmentProfile);
    }

    [Fact]
    public void Provenance_WithoutAiAssertedReason_FailsTheProfile()
    {
        var provenance = Built<Provenance>();
        provenance.Reason = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-ActReason", "TREAT")];
        AssertFails(provenance, FhirCodes.ProvenanceProfile);
    }

    [Fact]
    public void Provenance_WithAnEntityThatIsNotADerivation_FailsTheProfile()
    {
        var provenance = Built<Provenance>();
        provenance.Entity[0].Role = Provenance.ProvenanceEntityRole.Source;
        AssertFails(provenance, FhirCodes.ProvenanceProfile);
    }

    [Fact]
    public void Device_WithoutTheAiType_FailsTheProfile()
    {
        var device = Built<Device>();
        device.Type = new CodeableConcept("http://snomed.info/sct", "706689003", "Application program software");
        AssertFails(device, FhirCodes.DeviceProfile);
    }

    [Fact]
    public void Device_WithAnIdentifierThatIsNotASha256_FailsTheProfile()
    {
        var device = Built<Device>();
        device.Identifier[0].Value = "not-a-hash";
        AssertFails(device, FhirCodes.DeviceProfile);
    }

    private static string Claimed(Resource resource) =>
        resource.Meta?.Profile.SingleOrDefault() ?? throw new InvalidOperationException(resource.TypeName + " claims no single profile.");

    private static T Built<T>() where T : Resource =>
        WriteBackBundle.Writes(TestAssessments.HighRisk()).Select(w => w.Resource).OfType<T>().Single();

    private void AssertConforms(Resource resource, string profile)
    {
        var errors = validator.Errors(resource, profile);
        Assert.True(errors.Count == 0, $"{resource.TypeName} against {profile}:\n{ProfileValidator.Describe(errors)}");
    }

    private void AssertFails(Resource resource, string profile)
    {
        var errors = validator.Errors(resource, profile);
        Assert.NotEmpty(errors);
        Assert.DoesNotContain(errors, e => e.Code == OperationOutcome.IssueType.Incomplete);
    }
}
