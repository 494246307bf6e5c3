using CdsRisk.Api.Scoring;

namespace CdsRisk.UnitTests.Scoring;

/// <summary>Issue 15 item 4: the PACS form of a scoring-job request (<c>dicomPatientId</c> + <c>studyInstanceUid</c>).</summary>
public sealed class StudyArrivalRequestTests
{
    private static readonly ScoringJobRequestValidator Validator = new();

    private static IReadOnlyList<string> Invalid(ScoringJobRequest request) =>
        [.. Validator.Validate(request).Errors.Select(e => e.PropertyName).Distinct()];

    [Fact]
    public void ThePacsForm_IsValid_WithoutAFhirPatientId() =>
        Assert.Empty(Invalid(new ScoringJobRequest { DicomPatientId = "MRN 0042^A", StudyInstanceUid = "1.2.840.113619.2.1" }));

    [Fact]
    public void ThePacsForm_NeedsTheStudy() =>
        Assert.Contains("StudyInstanceUid", Invalid(new ScoringJobRequest { DicomPatientId = "MRN0042" }));

    [Fact]
    public void PatientIdAndDicomPatientId_ExcludeEachOther() =>
        Assert.Contains("PatientId", Invalid(new ScoringJobRequest { PatientId = "p1", DicomPatientId = "MRN0042", StudyInstanceUid = "1.2.3" }));

    [Fact]
    public void NeitherPatient_IsInvalid() =>
        Assert.Contains("PatientId", Invalid(new ScoringJobRequest { StudyInstanceUid = "1.2.3" }));

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("A\\B")] // backslash is DICOM's value separator: two PatientIDs
    [InlineData("MRN\n42")]
    [InlineData("MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM")] // 65 characters: longer than LO allows
    public void ADicomPatientIdThatIsNotALoValue_IsRefused_NamingTheField(string value) =>
        Assert.Contains("DicomPatientId", Invalid(new ScoringJobRequest { DicomPatientId = value, StudyInstanceUid = "1.2.3" }));

    [Theory]
    [InlineData("MRN0042", "MRN0042")]
    [InlineData("A|B", "A\\|B")]
    [InlineData("1,2$3", "1\\,2\\$3")]
    public void SearchValues_AreEscapedAsFhirSearchRequires(string value, string escaped) =>
        Assert.Equal(escaped, DicomPatientResolver.EscapeSearchValue(value));
}
