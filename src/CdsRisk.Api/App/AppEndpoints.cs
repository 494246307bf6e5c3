using System.Globalization;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CdsRisk.Api.App.Pages;
using CdsRisk.Api.Audit;
using CdsRisk.Api.Pipeline;
using CdsRisk.Api.Storage;
using CdsRisk.Core.Eligibility;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;

namespace CdsRisk.Api.App;

/// <summary>Who is signed in, for the page frame.</summary>
public sealed record AppNav(string? Patient, bool TrialTeam, string User, string CsrfField, string CsrfToken);

/// <summary>One row of the screening log.</summary>
public sealed record ScreeningRow(AssessmentSummary Assessment, IReadOnlyList<string> Deciding, string Feedback, bool Referred, IReadOnlyList<FeedbackRecord> FeedbackItems);

/// <summary>The pages of the SMART app. Every page decides what it may show from the session's patient and role, never from the URL alone.</summary>
public static class AppEndpoints
{
    private const int LogLimit = 500;

    internal static AppNav Nav(HttpContext http, IAntiforgery antiforgery)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        return new AppNav(http.User.Patient(), http.User.HasRole(), http.User.FindFirstValue(AppSchemes.FhirUserClaim) ?? "signed in", tokens.FormFieldName, tokens.RequestToken!);
    }

    public static async Task<IResult> HomeAsync(HttpContext http, IAntiforgery antiforgery, AssessmentAuditStore store, CancellationToken cancellationToken)
    {
        if (http.User.Patient() is not { } patient)
        {
            return Results.Redirect("/app/screening-log");
        }

        var rows = await store.QueryAsync(new AuditQuery(patient, null, null, null, null, null, 50, 0), cancellationToken);
        var mine = rows.Where(r => SameServer(r.FhirServer, http.User.Issuer())).Select(AuditEndpoints.Summary).ToList();
        return new RazorComponentResult<HomePage>(new { Nav = Nav(http, antiforgery), Assessments = mine });
    }

    public static async Task<IResult> DetailAsync(string id, HttpContext http, IAntiforgery antiforgery, AssessmentAuditStore store, IFeedbackStore feedback,
        OutboxStore outbox, SmartClient smart, AppModelCard card, CancellationToken cancellationToken)
    {
        var (row, refused) = await PermittedAsync(id, http, store, cancellationToken);
        if (refused is not null) return refused;

        var view = await AuditEndpoints.ViewAsync(row, feedback, outbox, cancellationToken);
        var earlier = (await store.QueryAsync(new AuditQuery(row.PatientRef, null, null, null, null, null, 20, 0), cancellationToken))
            .Where(r => r.Id != row.Id && SameServer(r.FhirServer, row.FhirServer)).ToList();
        var earlierViews = new List<AssessmentRecordView>();
        foreach (var e in earlier)
        {
            earlierViews.Add(await AuditEndpoints.ViewAsync(e, feedback, outbox, cancellationToken));
        }

        // Read from the EHR with the launch's token: the patient's name and birth date, to confirm who this is.
        string? name = null, birthDate = null;
        if (http.AccessToken() is { } token
            && await smart.ReadFhirAsync(http.User.Issuer(), row.PatientRef, token, cancellationToken) is { } patient && (string?)patient["resourceType"] == "Patient")
        {
            name = PatientName(patient);
            birthDate = patient["birthDate"] is JsonValue b && b.GetValueKind() == JsonValueKind.String ? (string?)b : null;
        }

        return new RazorComponentResult<DetailPage>(new
        {
            Nav = Nav(http, antiforgery),
            View = view,
            Earlier = earlierViews,
            PatientName = name,
            BirthDate = birthDate,
            FhirBase = http.User.Issuer(),
            Card = card,
        });
    }

    /// <summary>
    /// The assessment <paramref name="id"/> when this session may see it, else the page that says why. No patient outside the launch
    /// context: the assessment must be of the launched patient on the launching EHR. The trial team (a role the EHR grants) may open
    /// any assessment of its EHR from the screening log.
    /// </summary>
    private static async Task<(AuditedAssessment Row, IResult? Refused)> PermittedAsync(string id, HttpContext http, AssessmentAuditStore store, CancellationToken cancellationToken)
    {
        var row = await store.GetAsync(id, cancellationToken);
        if (row is null)
        {
            return (null!, AppPages.Status(StatusCodes.Status404NotFound, "Not found", "No assessment with this id."));
        }

        var ownPatient = http.User.Patient() is { } p && row.PatientRef == "Patient/" + p;
        if (!SameServer(row.FhirServer, http.User.Issuer()) || !(ownPatient || http.User.HasRole()))
        {
            return (null!, AppPages.Status(StatusCodes.Status403Forbidden, "Not permitted", "This assessment is not of the patient the app was launched for."));
        }

        return (row, null);
    }

    /// <summary>
    /// The picture of one MRI phase of an assessment (<c>/app/assessments/{id}/phases/{phase}.png</c>): authorised like the detail
    /// view, the series the assessment recorded for the phase, the study checked against the EHR. A picture that cannot be had is an
    /// SVG placeholder saying why, with a 4xx/5xx status; never an exception page.
    /// </summary>
    public static async Task<IResult> PhaseImageAsync(string id, string phase, HttpContext http, AssessmentAuditStore store, SmartClient smart,
        CdsRisk.Api.DicomWeb.DicomWebClient dicom, CancellationToken cancellationToken)
    {
        var (row, refused) = await PermittedAsync(id, http, store, cancellationToken);
        if (refused is not null) return refused;
        var detail = JsonSerializer.Deserialize<AssessmentDetail>(row.DetailJson, AssessmentRecorder.Json)!;
        var recorded = detail.Phases.FirstOrDefault(p => string.Equals(p.Phase, phase, StringComparison.Ordinal));
        var name = recorded is null ? "Unknown" : CdsRisk.Api.Scoring.RefusalWords.PhaseName(recorded.Phase);
        var image = recorded is null ? new PhaseImage(null, "this assessment recorded no such phase", StatusCodes.Status404NotFound)
            : http.AccessToken() is not { } token ? new PhaseImage(null, "no token for the EHR", StatusCodes.Status401Unauthorized)
            : await PhaseImages.RenderAsync(recorded, row.PatientRef, row.StudyUid, detail.ImagingStudyReference, http.User.Issuer(), token, smart, dicom, cancellationToken);
        // The patient's picture may stay in this browser's cache a while, never in a shared one.
        http.Response.Headers.CacheControl = image.Png is null ? "no-store" : "private, max-age=300";
        return image.Png is { } png
            ? Results.Bytes(png, "image/png")
            : Results.Text(PhaseImages.Placeholder(char.ToUpperInvariant(name[0]) + name[1..], image.Problem ?? "unavailable"), "image/svg+xml; charset=utf-8", statusCode: image.Status);
    }

    public static IResult ModelCardAsync(AppModelCard card) => Results.Text(card.Json, "application/json; charset=utf-8");

    public static async Task<IResult> LogoutAsync(HttpContext http, IAntiforgery antiforgery)
    {
        // CSRF: a sign-out form must carry this session's antiforgery token.
        if (!await antiforgery.IsRequestValidAsync(http))
        {
            return AppPages.Status(StatusCodes.Status400BadRequest, "Refused", "The form was not sent from this app (antiforgery token missing or wrong).");
        }

        await http.SignOutAsync(AppSchemes.Cookie);
        return AppPages.Status(StatusCodes.Status200OK, "Signed out", "You are signed out. Launch the app again from the EHR.");
    }

    public static async Task<IResult> ScreeningLogAsync(HttpContext http, IAntiforgery antiforgery, AssessmentAuditStore store, IFeedbackStore feedback,
        string? from, string? to, string? outcome, string? model, CancellationToken cancellationToken)
    {
        var (query, error) = LogQuery(from, to, outcome, model);
        if (error is not null) return AppPages.Status(StatusCodes.Status400BadRequest, "Screening log", error);
        var rows = await LogRowsAsync(http, store, feedback, query!, cancellationToken);
        return new RazorComponentResult<ScreeningLogPage>(new { Nav = Nav(http, antiforgery), Rows = rows, From = from, To = to, Outcome = outcome, Model = model });
    }

    public static async Task<IResult> ScreeningLogCsvAsync(HttpContext http, AssessmentAuditStore store, IFeedbackStore feedback,
        string? from, string? to, string? outcome, string? model, CancellationToken cancellationToken)
    {
        var (query, error) = LogQuery(from, to, outcome, model);
        if (error is not null) return AppPages.Status(StatusCodes.Status400BadRequest, "Screening log", error);
        var rows = await LogRowsAsync(http, store, feedback, query!, cancellationToken);
        var csv = new StringBuilder("assessment_id,assessed_at,patient,outcome,pre_score,model,deciding_criteria,feedback,referred\r\n");
        foreach (var r in rows)
        {
            var a = r.Assessment;
            csv.AppendJoin(',', [Csv(a.Id), Csv(a.AssessedAt.ToString("O", CultureInfo.InvariantCulture)), Csv(a.Patient), Csv(a.Outcome),
                Csv(a.PreScore?.ToString("0.###", CultureInfo.InvariantCulture)), Csv(a.Model is null ? null : a.Model.Id + "|" + a.Model.Version),
                Csv(string.Join("; ", r.Deciding)), Csv(r.Feedback), r.Referred ? "yes" : "no"]).Append("\r\n");
        }

        http.Response.Headers.ContentDisposition = "attachment; filename=\"screening-log.csv\"";
        return Results.Text(csv.ToString(), "text/csv; charset=utf-8");
    }

    public static async Task<IResult> ScreeningFlowAsync(HttpContext http, IAntiforgery antiforgery, AssessmentAuditStore store, IFeedbackStore feedback, SmartClient smart,
        string? from, string? to, CancellationToken cancellationToken)
    {
        var (query, error) = LogQuery(from, to, null, null);
        if (error is not null) return AppPages.Status(StatusCodes.Status400BadRequest, "Screening flow", error);
        var rows = await LogRowsAsync(http, store, feedback, query!, cancellationToken);
        var inPopulation = rows.Where(r => r.Assessment.Outcome != "not-assessed").ToList();
        var ineligible = inPopulation.Where(r => r.Assessment.Outcome == "ineligible").ToList();
        var byCriterion = ineligible.SelectMany(r => r.Deciding).GroupBy(c => c).OrderByDescending(g => g.Count()).Select(g => (g.Key, g.Count())).ToList();
        var eligible = inPopulation.Count(r => r.Assessment.Outcome == "eligible");

        // Enrolled: ResearchSubjects on the EHR, read with the trial team's token (null when the EHR does not answer).
        int? enrolled = null;
        if (http.AccessToken() is { } token && await smart.ReadFhirAsync(http.User.Issuer(), "ResearchSubject?_summary=count", token, cancellationToken) is { } bundle
            && bundle["total"] is JsonValue t && t.TryGetValue<int>(out var total))
        {
            enrolled = total;
        }

        List<(string, int, IReadOnlyList<(string, int)>)> steps =
        [
            ("Assessed", rows.Count, [("Not assessed (outside the population)", rows.Count - inPopulation.Count)]),
            ("In population", inPopulation.Count, [
                ("Ineligible", ineligible.Count), .. byCriterion.Select(c => ("  by " + c.Key, c.Item2)),
                ("Needs data", inPopulation.Count(r => r.Assessment.Outcome == "needs-data")),
                ("Pending (PRE being computed)", inPopulation.Count(r => r.Assessment.Outcome == "pending")),
                ("Low risk (PRE under threshold)", inPopulation.Count(r => r.Assessment.Outcome == "low-risk")),
                ("On study (follow-up)", inPopulation.Count(r => r.Assessment.Outcome == "on-study")),
            ]),
            ("Eligible", eligible, []),
            ("Referred (card accepted)", rows.Count(r => r.Referred), []),
        ];
        if (enrolled is { } n) steps.Add(("Enrolled (ResearchSubject)", n, []));
        return new RazorComponentResult<ScreeningFlowPage>(new
        {
            Nav = Nav(http, antiforgery),
            SvgMarkup = Svg.Flow([.. steps.Select(s => (s.Item1, s.Item2, (IReadOnlyList<(string, int)>)s.Item3))]),
            From = from,
            To = to,
            EnrolledKnown = enrolled is not null,
        });
    }

    public static async Task<IResult> MonitoringAsync(HttpContext http, IAntiforgery antiforgery, AssessmentAuditStore store, IFeedbackStore feedback, AppModelCard card,
        string? from, string? to, CancellationToken cancellationToken)
    {
        var (query, error) = LogQuery(from, to, null, null);
        if (error is not null) return AppPages.Status(StatusCodes.Status400BadRequest, "Model monitoring", error);
        var rows = await LogRowsAsync(http, store, feedback, query!, cancellationToken);
        return new RazorComponentResult<MonitoringPage>(new { Nav = Nav(http, antiforgery), Rows = rows, Threshold = card.Threshold });
    }

    private static (AuditQuery? Query, string? Error) LogQuery(string? from, string? to, string? outcome, string? model)
    {
        DateTimeOffset? Parse(string? v) => string.IsNullOrEmpty(v) ? null
            : DateTimeOffset.TryParse(v, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var d) ? d : DateTimeOffset.MinValue;
        var f = Parse(from);
        var t = Parse(to);
        if (f == DateTimeOffset.MinValue) return (null, "from must be a date such as 2026-11-27.");
        if (t == DateTimeOffset.MinValue) return (null, "to must be a date such as 2026-11-27.");
        if (t is { } end && to!.Length <= 10) t = end.AddDays(1).AddTicks(-1); // a date alone means the whole day
        if (!string.IsNullOrEmpty(outcome) && outcome is not ("eligible" or "ineligible" or "needs-data" or "pending" or "low-risk" or "not-assessed" or "on-study"))
        {
            return (null, "outcome must be eligible, ineligible, needs-data, pending, low-risk, not-assessed or on-study.");
        }

        return (new AuditQuery(null, f, t, string.IsNullOrEmpty(model) ? null : model, string.IsNullOrEmpty(outcome) ? null : outcome, null, LogLimit, 0), null);
    }

    private static async Task<List<ScreeningRow>> LogRowsAsync(HttpContext http, AssessmentAuditStore store, IFeedbackStore feedback, AuditQuery query, CancellationToken cancellationToken)
    {
        var issuer = http.User.Issuer();
        var result = new List<ScreeningRow>();
        foreach (var row in await store.QueryAsync(query, cancellationToken))
        {
            if (!SameServer(row.FhirServer, issuer)) continue; // one EHR's trial team sees that EHR's patients
            var detail = JsonSerializer.Deserialize<AssessmentDetail>(row.DetailJson, AssessmentRecorder.Json)!;
            var deciding = detail.Criteria.Where(c => c.Value.Status is CriterionStatus.Fail or CriterionStatus.Unknown).Select(c => c.Key).ToList();
            var items = new List<FeedbackRecord>();
            foreach (var c in detail.Cards)
            {
                items.AddRange((await feedback.ListForCardAsync(c.Uuid, cancellationToken))
                    .Select(f => new FeedbackRecord(f.CardUuid, f.Outcome, f.OutcomeTimestamp, f.AcceptedSuggestions, f.OverrideReason, f.OverrideComment)));
            }

            var state = items.Count == 0 ? "none" : string.Join(", ", items.Select(i => i.Outcome).Distinct());
            result.Add(new ScreeningRow(AuditEndpoints.Summary(row), deciding, state, row.Outcome == "eligible" && items.Any(i => i.Outcome == "accepted"), items));
        }

        return result;
    }

    internal static bool SameServer(string? a, string? b) => a is not null && b is not null && string.Equals(a.TrimEnd('/'), b.TrimEnd('/'), StringComparison.Ordinal);

    // The one CSV field rule of the service (RFC 4180 quoting, formula cells made text): the follow-up worklist's.
    internal static string Csv(string? value) => CdsRisk.Api.FollowUp.WorklistCsv.Field(value);

    private static string? PatientName(JsonObject patient)
    {
        if (patient["name"] is not JsonArray names || names.FirstOrDefault() is not JsonObject n) return null;
        if (n["text"] is JsonValue t && t.GetValueKind() == JsonValueKind.String) return (string?)t;
        var given = n["given"] is JsonArray g ? string.Join(' ', g.Select(x => x?.GetValueKind() == JsonValueKind.String ? (string?)x : null).Where(x => x is not null)) : "";
        var family = n["family"] is JsonValue f && f.GetValueKind() == JsonValueKind.String ? (string?)f : "";
        return $"{given} {family}".Trim() is { Length: > 0 } s ? s : null;
    }
}
