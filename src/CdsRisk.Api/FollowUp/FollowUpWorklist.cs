using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using CdsRisk.Api.Hooks;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.FollowUp;

namespace CdsRisk.Api.FollowUp;

/// <summary>One on-study patient of the trial team's worklist (issue 17), as the last sweep read them from their FHIR server.</summary>
public sealed record WorklistEntry
{
    /// <summary>The FHIR base URL the patient was read from.</summary>
    public required string FhirServer { get; init; }

    /// <summary><c>Patient/{id}</c> on that server.</summary>
    public required string Patient { get; init; }

    /// <summary>The ResearchSubject that puts the patient on study, and its R4 status.</summary>
    public string? ResearchSubject { get; init; }
    public string? SubjectStatus { get; init; }

    /// <summary>The completed liver resection the schedule counts from; omitted when none is on record (no schedule then).</summary>
    public EvidenceEntry? Anchor { get; init; }

    /// <summary><c>overdue</c> (an item's window has passed), <c>due</c> (an item is inside its window), <c>upcoming</c>, or <c>complete</c> (every item done, or no schedule).</summary>
    [AllowedValues("overdue", "due", "upcoming", "complete")]
    public required string Status { get; init; }

    /// <summary>The item to act on next: the earliest overdue, else the earliest due, else the next upcoming.</summary>
    public FollowUpItemEntry? NextDue { get; init; }

    public IReadOnlyList<FollowUpItemEntry>? Overdue { get; init; }
    public IReadOnlyList<FollowUpItemEntry>? Due { get; init; }

    /// <summary>Open safety signals during protocol therapy (CTCAE v5.0 bands; possible adverse events for the investigator to assess).</summary>
    public IReadOnlyList<SafetySignalEntry>? Signals { get; init; }

    /// <summary>Post-operative exclusions the record settles as met: <c>non-hcc-pathology</c>, <c>early-death-or-loss</c>.</summary>
    public IReadOnlyList<string>? Exclusions { get; init; }

    /// <summary>Data categories the sweep could not read for this patient: the picture may be incomplete (an item may show overdue that is done).</summary>
    public IReadOnlyList<string>? DataGaps { get; init; }

    public required DateTimeOffset SweptAt { get; init; }

    public static WorklistEntry From(string fhirServer, string patientId, FollowUpResult result, IReadOnlyList<string> dataGaps, DateTimeOffset sweptAt)
    {
        var overdue = result.Overdue.OrderBy(i => i.Due).ToList();
        var due = result.Due.OrderBy(i => i.Due).ToList();
        var next = overdue.FirstOrDefault() ?? due.FirstOrDefault() ?? result.NextUpcoming;
        var status = overdue.Count > 0 ? "overdue" : due.Count > 0 ? "due" : next is not null ? "upcoming" : "complete";
        return new WorklistEntry
        {
            FhirServer = fhirServer,
            Patient = "Patient/" + patientId,
            ResearchSubject = result.Enrolment.Reference,
            SubjectStatus = result.Enrolment.Status,
            Anchor = result.Anchor is { } a ? EvidenceEntry.From(a) : null,
            Status = status,
            NextDue = next is null ? null : FollowUpItemEntry.From(next),
            Overdue = overdue.Count == 0 ? null : [.. overdue.Select(FollowUpItemEntry.From)],
            Due = due.Count == 0 ? null : [.. due.Select(FollowUpItemEntry.From)],
            Signals = result.Signals.Count == 0 ? null : [.. result.Signals.Select(SafetySignalEntry.From)],
            Exclusions = result.MetExclusions.Any() ? [.. result.MetExclusions.Select(e => e.Id)] : null,
            DataGaps = dataGaps.Count == 0 ? null : dataGaps,
            SweptAt = sweptAt,
        };
    }
}

/// <summary>The worklist: overdue first, then by the next due date.</summary>
public sealed record FollowUpWorklist([property: AlwaysWrite] IReadOnlyList<WorklistEntry> Items);

/// <summary>The worklist's filters: status (or <c>signal</c>: open safety signals), next due date between two days (inclusive).</summary>
public sealed record WorklistQuery(string? Status, DateOnly? DueFrom, DateOnly? DueTo)
{
    public static readonly string[] Statuses = ["overdue", "due", "upcoming", "complete", "signal"];

    /// <summary>Reads the query parameters; a value that does not parse is an error naming its parameter.</summary>
    public static WorklistQuery Parse(string? status, string? dueFrom, string? dueTo, Dictionary<string, string[]> errors)
    {
        if (status is not null && !Statuses.Contains(status, StringComparer.Ordinal))
        {
            errors["status"] = ["status must be one of " + string.Join(", ", Statuses) + "."];
        }

        var from = Day(dueFrom, "dueFrom", errors);
        var to = Day(dueTo, "dueTo", errors);
        if (from is { } f && to is { } t && f > t)
        {
            errors["dueFrom"] = ["dueFrom must not be after dueTo."];
        }

        return new WorklistQuery(status, from, to);
    }

    private static DateOnly? Day(string? value, string name, Dictionary<string, string[]> errors)
    {
        if (value is null)
        {
            return null;
        }

        if (DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            return day;
        }

        errors[name] = [$"{name} must be a date (yyyy-MM-dd)."];
        return null;
    }

    /// <summary>The entries that pass, overdue first, then by next due date, then by server and patient.</summary>
    public IReadOnlyList<WorklistEntry> Apply(IEnumerable<WorklistEntry> entries) =>
    [
        .. entries
            .Where(e => Status switch
            {
                null => true,
                "signal" => e.Signals is { Count: > 0 },
                _ => e.Status == Status,
            })
            .Where(e => DueFrom is null && DueTo is null
                || e.NextDue is { } n && DateOnly.ParseExact(n.Due, "yyyy-MM-dd", CultureInfo.InvariantCulture) is var due
                    && (DueFrom is not { } f || due >= f) && (DueTo is not { } t || due <= t))
            .OrderBy(e => e.Status switch { "overdue" => 0, "due" => 1, "upcoming" => 2, _ => 3 })
            .ThenBy(e => e.NextDue?.Due ?? "9999-12-31", StringComparer.Ordinal)
            .ThenBy(e => e.FhirServer, StringComparer.Ordinal)
            .ThenBy(e => e.Patient, StringComparer.Ordinal),
    ];
}

/// <summary>The worklist as CSV (RFC 4180: CRLF lines, a header row, quoted fields where needed).</summary>
public static class WorklistCsv
{
    public const string MediaType = "text/csv";

    public static readonly string[] Header =
    [
        "fhirServer", "patient", "researchSubject", "subjectStatus", "anchorDate", "status", "nextDueItem", "nextDueWhat", "nextDueDate",
        "overdueItems", "dueItems", "signals", "maxSignalGrade", "exclusions", "dataGaps", "sweptAt",
    ];

    public static string Write(IEnumerable<WorklistEntry> entries)
    {
        var csv = new StringBuilder();
        Line(csv, Header);
        foreach (var e in entries)
        {
            Line(csv,
            [
                e.FhirServer, e.Patient, e.ResearchSubject, e.SubjectStatus,
                e.Anchor?.Date?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                e.Status, e.NextDue?.Id, e.NextDue?.What, e.NextDue?.Due,
                Join(e.Overdue?.Select(i => i.Id)), Join(e.Due?.Select(i => i.Id)),
                Join(e.Signals?.Select(s => s.Grade is { } g ? $"{s.Term} (grade {g})" : s.Term)),
                e.Signals?.Max(s => s.Grade)?.ToString(CultureInfo.InvariantCulture),
                Join(e.Exclusions), Join(e.DataGaps),
                e.SweptAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ]);
        }

        return csv.ToString();
    }

    private static string? Join(IEnumerable<string>? values) => values is null ? null : string.Join("; ", values);

    private static void Line(StringBuilder csv, IReadOnlyList<string?> fields)
    {
        for (var i = 0; i < fields.Count; i++)
        {
            if (i > 0)
            {
                csv.Append(',');
            }

            csv.Append(Field(fields[i]));
        }

        csv.Append("\r\n");
    }

    /// <summary>
    /// One field: text from FHIR servers that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) is prefixed
    /// with an apostrophe (OWASP CSV injection); a field with a comma, quote or line break is quoted, its quotes doubled.
    /// </summary>
    public static string Field(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }
}

/// <summary>The JSON the worklist rows are stored as.</summary>
internal static class WorklistJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static string Write(WorklistEntry entry) => JsonSerializer.Serialize(entry, Options);

    public static WorklistEntry Read(string json) => JsonSerializer.Deserialize<WorklistEntry>(json, Options)!;
}
