using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using CdsRisk.Api.Diagnostics;
using CdsRisk.Api.Fhir;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Pipeline;
using CdsRisk.Api.Storage;
using CdsRisk.Api.WriteBack;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.FollowUp;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.FollowUp;

/// <summary>Something the sweep could not read: the server, the patient where it was one patient's record, and why.</summary>
public sealed record SweepFailure
{
    public required string FhirServer { get; init; }

    /// <summary><c>Patient/{id}</c>, when one patient's record could not be read whole.</summary>
    public string? Patient { get; init; }
    public required string Reason { get; init; }
}

/// <summary>One sweep run: when, how many subjects and on-study patients it read, what it removed, what failed.</summary>
public sealed record SweepRun
{
    public required string Id { get; init; }

    /// <summary><c>running</c>, <c>completed</c> (every server read), <c>completed-with-failures</c>, or <c>failed</c> (stopped by an error).</summary>
    [System.ComponentModel.DataAnnotations.AllowedValues("running", "completed", "completed-with-failures", "failed")]
    public required string State { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public int Servers { get; init; }

    /// <summary>ResearchSubjects of the trial found on the servers.</summary>
    public int Subjects { get; init; }

    /// <summary>Patients on study now (rows written).</summary>
    public int OnStudy { get; init; }

    /// <summary>Rows removed: the patient left the study, or no longer has a ResearchSubject for it.</summary>
    public int Removed { get; init; }

    /// <summary>Audit rows recorded: on-study patients whose follow-up changed since the sweep's last row for them.</summary>
    public int Assessments { get; init; }
    public IReadOnlyList<SweepFailure>? Failures { get; init; }
}

/// <summary>Where the sweep stands: its period and its last run.</summary>
public sealed record SweepStatus
{
    /// <summary><c>FollowUp:SweepMinutes</c>; 0 = the sweep is off.</summary>
    public required int SweepMinutes { get; init; }
    public SweepRun? LastRun { get; init; }
}

/// <summary>
/// The follow-up sweep (issue 17): on each FHIR server with a backend credential (<c>WriteBack:BackendClients</c>), the trial's
/// ResearchSubjects (<c>ResearchSubject?study=</c> each configured study, else each ResearchStudy with the trial's identifier), each
/// subject's patient record read as a patient-view hook would read it, evaluated by the <see cref="FollowUpEngine"/>, and one worklist
/// row per (server, patient) upserted; rows of patients who left the study are removed. One replica at a time (a database lease);
/// running it again gives the same rows.
/// </summary>
public sealed class FollowUpSweeper(
    FollowUpStore store,
    AssessmentAuditStore audit,
    LeaseStore leases,
    FhirFetchClient fetcher,
    IServiceScopeFactory scopes,
    EligibilityEngine eligibility,
    FollowUpEngine followUp,
    FhirCredentials credentials,
    IOptions<WriteBackOptions> writeBack,
    IOptions<FhirOptions> fhirOptions,
    IOptions<FollowUpOptions> options,
    TimeProvider time,
    ILogger<FollowUpSweeper> logger)
{
    public const string Lease = "follow-up-sweep";

    /// <summary>
    /// The origin of the audit rows the sweep records: their <c>hook</c> (no CDS hook made them) and their detail's <c>serviceId</c>;
    /// their <c>hookInstance</c> column holds the sweep run id, shown as <c>sweepRun</c>.
    /// </summary>
    public const string AuditOrigin = "follow-up-sweep";

    /// <summary>The lease is renewed after each patient; a replica that dies lets another take over after this long.</summary>
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromMinutes(5);

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    private readonly AllowedBaseUrls _allowed = AllowedBaseUrls.Parse(fhirOptions.Value.AllowedServers);

    public string Owner { get; } = $"{Environment.ProcessId}-{Guid.NewGuid():N}";

    /// <summary>
    /// Runs a sweep when this process gets the lease and (unless <paramref name="force"/>) the last finished sweep is older than the
    /// period. Returns the run, or null when another replica holds the lease or the last sweep is recent.
    /// </summary>
    public async Task<SweepRun?> RunAsync(bool force, CancellationToken cancellationToken)
    {
        if (!await leases.TryAcquireAsync(Lease, Owner, LeaseDuration, cancellationToken))
        {
            return null;
        }

        try
        {
            if (!force && await store.LastSweepAsync(finishedOnly: true, cancellationToken) is { Finished: { } last }
                && time.GetUtcNow() - last < TimeSpan.FromMinutes(Math.Max(1, options.Value.SweepMinutes)))
            {
                return null; // another replica swept within this period
            }

            return await SweepAsync(cancellationToken);
        }
        finally
        {
            await leases.ReleaseAsync(Lease, Owner, CancellationToken.None);
        }
    }

    private async Task<SweepRun> SweepAsync(CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid().ToString("N");
        var started = time.GetUtcNow();
        var clock = Stopwatch.StartNew();
        await store.StartSweepAsync(id, Owner, started, cancellationToken);
        var counts = new Counts();
        var state = "failed";
        try
        {
            var servers = writeBack.Value.BackendClients
                .Where(c => Uri.TryCreate(c.FhirServer, UriKind.Absolute, out _))
                .GroupBy(c => new Uri(c.FhirServer.TrimEnd('/') + "/").AbsoluteUri, StringComparer.Ordinal)
                .ToList();
            foreach (var server in servers)
            {
                counts.Servers++;
                await SweepServerAsync(id, new Uri(server.Key), server.First(), counts, cancellationToken);
            }

            state = counts.Failures.Count == 0 ? "completed" : "completed-with-failures";
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.FollowUpSweepError(ex.GetType().Name);
            counts.Failures.Add(new SweepFailure { FhirServer = "", Reason = "the sweep stopped: " + ex.GetType().Name });
        }

        var run = new SweepRun
        {
            Id = id,
            State = state,
            StartedAt = started,
            FinishedAt = time.GetUtcNow(),
            Servers = counts.Servers,
            Subjects = counts.Subjects,
            OnStudy = counts.OnStudy,
            Removed = counts.Removed,
            Assessments = counts.Assessments,
            Failures = counts.Failures.Count == 0 ? null : counts.Failures,
        };
        await store.FinishSweepAsync(id, state, run.FinishedAt.Value, JsonSerializer.Serialize(run, Json), CancellationToken.None);
        logger.FollowUpSweepDone(id, run.Servers, run.Subjects, run.OnStudy, run.Removed, counts.Failures.Count, clock.ElapsedMilliseconds);
        return run;
    }

    private sealed class Counts
    {
        public int Servers;
        public int Subjects;
        public int OnStudy;
        public int Removed;
        public int Assessments;
        public List<SweepFailure> Failures { get; } = [];
    }

    private async System.Threading.Tasks.Task SweepServerAsync(string sweepId, Uri server, BackendClientOptions client, Counts counts, CancellationToken cancellationToken)
    {
        void Fail(string reason, string? patient = null)
        {
            counts.Failures.Add(new SweepFailure { FhirServer = server.AbsoluteUri, Patient = patient, Reason = reason });
            if (patient is null)
            {
                logger.FollowUpSweepServerFailed(sweepId, server.Host, reason);
            }
        }

        var token = await credentials.GetBackendTokenAsync(client, server.AbsoluteUri, cancellationToken);
        if (token is null)
        {
            Fail("the backend credential gave no token (WriteBack:BackendClients)");
            return;
        }

        // The trial's studies on this server: those configured, else each ResearchStudy with the trial's identifier.
        var complete = true;
        List<string> studies = [.. options.Value.StudyReferences];
        if (studies.Count == 0)
        {
            var found = await fetcher.GetAsync(new Uri(server, "ResearchStudy?identifier=" + Uri.EscapeDataString(eligibility.Data.Protocol.ProtocolId)), token, _allowed, cancellationToken);
            if (found.Problem is { } problem)
            {
                Fail("ResearchStudy search: " + problem);
                return;
            }

            studies = [.. found.Resources.OfType<ResearchStudy>().Where(s => s.Id is not null).Select(s => "ResearchStudy/" + s.Id)];
        }

        var patients = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var study in studies)
        {
            var subjects = await fetcher.GetAsync(new Uri(server, "ResearchSubject?study=" + Uri.EscapeDataString(study)), token, _allowed, cancellationToken);
            if (subjects.Problem is { } problem)
            {
                Fail("ResearchSubject search: " + problem);
                complete = false;
            }

            foreach (var subject in subjects.Resources.OfType<ResearchSubject>())
            {
                counts.Subjects++;
                if (PatientId(subject.Individual?.Reference, server) is { } patient)
                {
                    patients.Add(patient);
                }
            }
        }

        if (patients.Count > options.Value.MaxSubjectsPerServer)
        {
            Fail($"more than FollowUp:MaxSubjectsPerServer ({options.Value.MaxSubjectsPerServer}) patients; the rest are not read");
            complete = false;
        }

        var service = CdsServiceCatalog.Find(CdsServiceCatalog.PatientViewId)!;
        await using var scope = scopes.CreateAsyncScope(); // the loader is scoped (one hook's reading)
        var loader = scope.ServiceProvider.GetRequiredService<PatientRecordLoader>();
        foreach (var patientId in patients.Take(options.Value.MaxSubjectsPerServer))
        {
            cancellationToken.ThrowIfCancellationRequested();
            await leases.TryAcquireAsync(Lease, Owner, LeaseDuration, cancellationToken); // renew
            var at = time.GetUtcNow();
            var reading = HookInvocation.BackendReading(service, patientId, server, token, client.Scope, at);
            try
            {
                var record = await loader.LoadAsync(reading, service.Prefetch, null, cancellationToken);
                var enrolment = followUp.Enrolment(record, studies);
                if (enrolment.State != EnrolmentState.OnStudy)
                {
                    counts.Removed += await store.RemoveAsync(server.AbsoluteUri, patientId, cancellationToken);
                    continue;
                }

                var result = followUp.Evaluate(record, eligibility.Snapshot(record, at), enrolment, at);
                var entry = WorklistEntry.From(server.AbsoluteUri, patientId, result, record.UnavailableData, at);
                if (record.UnavailableData.Count > 0)
                {
                    Fail("not read whole: " + string.Join(", ", record.UnavailableData), entry.Patient);
                }

                await store.UpsertAsync(new FollowUpRow(server.AbsoluteUri, patientId, entry.Status, entry.NextDue?.Due, WorklistJson.Write(entry), sweepId, at), cancellationToken);
                counts.OnStudy++;
                if (await RecordAssessmentAsync(server, patientId, record, result, sweepId, at, cancellationToken))
                {
                    counts.Assessments++;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // One patient's record that cannot be read (412-like: required data missing, a bad resource) does not stop the sweep;
                // the patient's earlier row stays.
                Fail("record not read: " + ex.GetType().Name, "Patient/" + patientId);
                await store.TouchAsync(server.AbsoluteUri, patientId, sweepId, cancellationToken);
            }
        }

        if (complete)
        {
            counts.Removed += await store.RemoveNotSweptAsync(server.AbsoluteUri, sweepId, cancellationToken);
        }
    }

    /// <summary>
    /// Issue 17: the sweep's evaluation as an audit row (origin <see cref="AuditOrigin"/>), so the audit API shows the follow-up state
    /// and the settled post-operative exclusions. Recorded only when the follow-up changed since this origin's last row for the
    /// patient on this server: the content hash (<see cref="FollowUpContentHash"/>) is compared, so a sweep that finds nothing new adds
    /// nothing. Returns whether a row was added.
    /// </summary>
    private async Task<bool> RecordAssessmentAsync(Uri server, string patientId, Core.Patients.PatientRecord record, FollowUpResult result, string sweepId,
        DateTimeOffset at, CancellationToken cancellationToken)
    {
        var patientRef = "Patient/" + patientId;
        var hash = FollowUpContentHash(result);
        if (string.Equals(await audit.LatestContentHashAsync(server.AbsoluteUri, patientRef, AuditOrigin, cancellationToken), hash, StringComparison.Ordinal))
        {
            return false;
        }

        var detail = new AssessmentDetail
        {
            ServiceId = AuditOrigin,
            ProtocolVersion = $"{eligibility.Data.Protocol.ProtocolId} {eligibility.Data.Protocol.Version}",
            Summary = result.Summary,
            Criteria = result.Exclusions.ToDictionary(c => c.Id, CriterionEntry.From, StringComparer.Ordinal),
            DataGaps = record.DataGaps,
            DroppedResources = record.DroppedResources,
            FollowUp = FollowUpEntry.From(result),
        };
        await audit.RecordAsync(new AuditedAssessment(
            Id: Guid.NewGuid().ToString("D"),
            PatientRef: patientRef,
            FhirServer: server.AbsoluteUri,
            Hook: AuditOrigin,
            HookInstance: sweepId,
            AssessedAt: at,
            ModelId: null,
            ModelVersion: null,
            ModelSha256: null,
            Outcome: EligibilityOutcome.OnStudy.ToWire(),
            Risk: null,
            PreScore: null,
            StudyUid: null,
            DetailJson: JsonSerializer.SerializeToUtf8Bytes(detail, AssessmentRecorder.Json),
            OutboxId: null,
            ContentSha256: hash), cancellationToken);
        return true;
    }

    /// <summary>
    /// What counts as the follow-up having changed: the enrolment, the anchor, each item's status and evidence, each signal's grade and
    /// evidence, each exclusion's status and evidence. Reason texts are left out (a to-be-confirmed criterion says which day after
    /// surgery it is, and would otherwise change every day).
    /// </summary>
    internal static string FollowUpContentHash(FollowUpResult result)
    {
        var text = new System.Text.StringBuilder();
        static string Refs(IEnumerable<CdsRisk.Core.Eligibility.Evidence> evidence) => string.Join(",", evidence.Select(e => e.Reference ?? e.Description));
        text.Append("enrolment|").Append(result.Enrolment.Reference).Append('|').Append(result.Enrolment.Status).Append('\n');
        text.Append("anchor|").Append(result.Anchor?.Reference).Append('|').Append(result.Anchor?.Date?.ToUnixTimeSeconds()).Append('\n');
        foreach (var i in result.Items)
        {
            text.Append("item|").Append(i.Id).Append('|').Append(i.Due.DayNumber).Append('|').Append(i.Status.ToWire()).Append('|').Append(Refs(i.Evidence)).Append('\n');
        }

        foreach (var s in result.Signals)
        {
            text.Append("signal|").Append(s.Id).Append('|').Append(s.Grade).Append('|').Append(Refs(s.Evidence)).Append('\n');
        }

        foreach (var c in result.Exclusions)
        {
            text.Append("exclusion|").Append(c.Id).Append('|').Append(c.Status).Append('|').Append(Refs(c.Evidence)).Append('\n');
        }

        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>The logical id of a subject's patient on this server: <c>Patient/{id}</c>, relative or absolute under the server.</summary>
    internal static string? PatientId(string? reference, Uri server)
    {
        if (string.IsNullOrEmpty(reference))
        {
            return null;
        }

        if (Uri.TryCreate(reference, UriKind.Absolute, out var absolute))
        {
            if (!absolute.AbsoluteUri.StartsWith(server.AbsoluteUri, StringComparison.Ordinal))
            {
                return null;
            }

            reference = absolute.AbsoluteUri[server.AbsoluteUri.Length..];
        }

        var parts = reference.Split('/');
        return parts.Length == 2 && parts[0] == "Patient" && System.Text.RegularExpressions.Regex.IsMatch(parts[1], "^[A-Za-z0-9\\-\\.]{1,64}$") ? parts[1] : null;
    }
}

/// <summary>Runs the sweep every <c>FollowUp:SweepMinutes</c> (0 = never); looks each minute whether one is due, so replicas share it.</summary>
internal sealed class FollowUpSweepWorker(FollowUpSweeper sweeper, IOptions<FollowUpOptions> options, ILogger<FollowUpSweepWorker> logger) : BackgroundService
{
    protected override async System.Threading.Tasks.Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var minutes = options.Value.SweepMinutes;
        if (minutes <= 0)
        {
            return;
        }

        var look = TimeSpan.FromMinutes(Math.Min(1, minutes));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await sweeper.RunAsync(force: false, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.FollowUpSweepError(ex.GetType().Name);
            }

            try
            {
                await System.Threading.Tasks.Task.Delay(look, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
