using CdsRisk.Api.FollowUp;
using CdsRisk.Api.Hooks;

namespace CdsRisk.UnitTests.FollowUp;

/// <summary>The follow-up worklist's filters, order and CSV (issue 17).</summary>
public sealed class WorklistTests
{
    private static readonly DateTimeOffset Swept = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    private static FollowUpItemEntry Item(string id, string due, string status) =>
        new() { Id = id, What = "Contrast MRI or CT of the liver", Due = due, WindowStart = due, WindowEnd = due, Status = status };

    private static WorklistEntry Entry(string patient, string status, FollowUpItemEntry? next, bool signal = false) => new()
    {
        FhirServer = "https://ehr.example/fhir/",
        Patient = "Patient/" + patient,
        ResearchSubject = "ResearchSubject/rs-" + patient,
        SubjectStatus = "on-study",
        Status = status,
        NextDue = next,
        Overdue = status == "overdue" ? [next!] : null,
        Signals = signal ? [new SafetySignalEntry { Id = "alt", Term = "Alanine aminotransferase increased", Grade = 3, Reason = "ALT 6 x ULN", Evidence = [] }] : null,
        SweptAt = Swept,
    };

    private static readonly WorklistEntry[] Entries =
    [
        Entry("upcoming", "upcoming", Item("m6-afp", "2027-01-20", "upcoming")),
        Entry("late", "overdue", Item("m3-imaging", "2026-10-01", "overdue")),
        Entry("due", "due", Item("m3-afp", "2026-12-05", "due"), signal: true),
        Entry("complete", "complete", null),
    ];

    private static WorklistQuery Query(string? status = null, string? from = null, string? to = null)
    {
        var errors = new Dictionary<string, string[]>();
        var query = WorklistQuery.Parse(status, from, to, errors);
        Assert.Empty(errors);
        return query;
    }

    [Fact]
    public void NoFilter_ListsEveryone_OverdueFirst_ThenByNextDueDate()
    {
        var list = Query().Apply(Entries);
        Assert.Equal(["Patient/late", "Patient/due", "Patient/upcoming", "Patient/complete"], list.Select(e => e.Patient));
    }

    [Theory]
    [InlineData("overdue", "Patient/late")]
    [InlineData("due", "Patient/due")]
    [InlineData("upcoming", "Patient/upcoming")]
    [InlineData("complete", "Patient/complete")]
    [InlineData("signal", "Patient/due")]
    public void StatusFilter_KeepsOnlyThatStatus(string status, string patient) =>
        Assert.Equal([patient], Query(status).Apply(Entries).Select(e => e.Patient));

    [Fact]
    public void DueDateFilter_IsInclusive_AndDropsPatientsWithNothingDue()
    {
        Assert.Equal(["Patient/late", "Patient/due"], Query(to: "2026-12-05").Apply(Entries).Select(e => e.Patient));
        Assert.Equal(["Patient/due", "Patient/upcoming"], Query(from: "2026-12-05").Apply(Entries).Select(e => e.Patient));
        Assert.Equal(["Patient/due"], Query(from: "2026-12-05", to: "2026-12-05").Apply(Entries).Select(e => e.Patient));
    }

    [Theory]
    [InlineData("late", null, null, "status")]
    [InlineData(null, "01/12/2026", null, "dueFrom")]
    [InlineData(null, null, "2026-13-01", "dueTo")]
    [InlineData(null, "2026-12-02", "2026-12-01", "dueFrom")]
    public void BadFilters_AreErrorsNamingTheParameter(string? status, string? from, string? to, string field)
    {
        var errors = new Dictionary<string, string[]>();
        WorklistQuery.Parse(status, from, to, errors);
        Assert.Equal([field], errors.Keys);
    }

    [Fact]
    public void Csv_HasTheHeaderAndOneCrlfLinePerEntry()
    {
        var csv = WorklistCsv.Write(Query().Apply(Entries));
        var lines = csv.Split("\r\n");
        Assert.Equal(6, lines.Length); // header, 4 rows, and the empty string after the last CRLF
        Assert.Equal(string.Join(',', WorklistCsv.Header), lines[0]);
        Assert.Equal("", lines[^1]);
        Assert.StartsWith("https://ehr.example/fhir/,Patient/late,ResearchSubject/rs-late,on-study,,overdue,m3-imaging,Contrast MRI or CT of the liver,2026-10-01,m3-imaging,", lines[1], StringComparison.Ordinal);
        Assert.Contains(",Alanine aminotransferase increased (grade 3),3,", lines[2], StringComparison.Ordinal);
        Assert.EndsWith(",2026-12-01T08:00:00Z", lines[1], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("two\nlines", "\"two\nlines\"")]
    [InlineData(null, "")]
    public void CsvField_QuotesPerRfc4180(string? value, string expected) => Assert.Equal(expected, WorklistCsv.Field(value));

    [Theory]
    [InlineData("=HYPERLINK(\"http://evil\")")]
    [InlineData("+1+1")]
    [InlineData("-2+3")]
    [InlineData("@SUM(A1)")]
    public void CsvInjection_AFormulaFromTheFhirServer_IsWrittenAsText(string value) =>
        Assert.StartsWith("'", WorklistCsv.Field(value).TrimStart('"'), StringComparison.Ordinal);

    [Theory]
    [InlineData("Patient/p1", "p1")]
    [InlineData("https://ehr.example/fhir/Patient/p1", "p1")]
    [InlineData("https://other.example/fhir/Patient/p1", null)]
    [InlineData("Group/g1", null)]
    [InlineData("Patient/../x", null)]
    [InlineData(null, null)]
    public void SubjectIndividual_IsAPatientOnThisServer(string? reference, string? expected) =>
        Assert.Equal(expected, FollowUpSweeper.PatientId(reference, new Uri("https://ehr.example/fhir/")));
}
