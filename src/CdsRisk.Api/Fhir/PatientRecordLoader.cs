using System.Runtime.InteropServices;
using System.Text.Json;
using CdsRisk.Api.Diagnostics;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Pipeline;
using CdsRisk.Core.Patients;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Fhir;

/// <summary>
/// Prefetch-first loading (CDS Hooks 2.0 §Prefetch): a present key is used as given; a null key means "no data";
/// an OperationOutcome in a key, an absent key or a paginated Bundle is fetched from <c>fhirServer</c> (in parallel,
/// with the hook's bearer token, only from allow-listed servers, and next links only below that same server).
/// Missing Patient that cannot be fetched → 412. Every key is checked for size before it is parsed (too large → 400
/// CDSR-1012), only resources of the key's type that name this patient are used, and loading stops when the client
/// leaves or <c>Fhir:LoadTimeoutSeconds</c> is spent; what could not be read is reported per key.
/// </summary>
public sealed class PatientRecordLoader(FhirFetchClient fetcher, PrefetchParseCache parsed, IOptions<FhirOptions> options, ILogger<PatientRecordLoader> logger)
{
    private readonly FhirOptions _options = options.Value;
    private readonly AllowedBaseUrls _allowed = AllowedBaseUrls.Parse(options.Value.AllowedServers);

    private enum KeyState
    {
        Given,
        Fetched,
        NoData,
        Unavailable,
        NotApplicable,
    }

    private sealed record KeyData(PrefetchTemplate Template, KeyState State, IReadOnlyList<Resource> Resources, string? Problem = null)
    {
        public IReadOnlyList<DroppedResource> Dropped { get; init; } = [];

        /// <summary>Resources of the template's <see cref="PrefetchTemplate.Included"/> types that a kept resource refers to.</summary>
        public IReadOnlyList<Resource> Included { get; init; } = [];
    }

    /// <summary>What one call loads against: the hook's own server (when fetching is possible) and the entries it may still take.</summary>
    private sealed record LoadContext(HookInvocation Invocation, AllowedBaseUrl? OwnServer, string? FetchProblem, EntryBudget Budget)
    {
        public bool CanFetch => FetchProblem is null;
    }

    public async Task<PatientRecord> LoadAsync(HookInvocation invocation, IReadOnlyList<PrefetchTemplate> templates, IReadOnlyDictionary<string, JsonElement?>? prefetch, CancellationToken cancellationToken)
    {
        var budget = new EntryBudget(_options.MaxPrefetchEntriesPerKey, _options.MaxEntriesTotal);
        CheckPrefetchSize(templates, prefetch, budget);
        var draftOrders = ReadDraftOrders(invocation);
        var ownServer = AllowedBaseUrl.For(invocation.FhirServer);
        var load = new LoadContext(invocation, ownServer, FetchProblem(invocation, ownServer), budget);

        // The client leaving stops everything (the OperationCanceledException ends the call); the load budget running out stops
        // what is still loading, and those keys are reported as unavailable.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(_options.LoadTimeoutSeconds));
        KeyData[] keys;
        try
        {
            keys = await Task.WhenAll(templates.Select(t => LoadKeyWithinBudgetAsync(t, load, prefetch, deadline.Token, cancellationToken)));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            logger.LoadAbandoned(invocation.HookInstance);
            throw;
        }

        logger.PrefetchSummary(
            invocation.HookInstance,
            keys.Count(k => k.State == KeyState.Given),
            keys.Count(k => k.State == KeyState.Fetched),
            keys.Count(k => k.State == KeyState.Unavailable));
        if (!load.CanFetch && invocation.FhirServer is not null && keys.Any(k => k.State == KeyState.Unavailable))
        {
            logger.FhirServerNotAllowed(invocation.HookInstance, invocation.FhirServer.Host);
        }

        var missingRequired = keys.Where(k => k.Template.Required && k.State is KeyState.Unavailable or KeyState.NoData or KeyState.NotApplicable).ToList();
        var patient = keys.Where(k => k.Template.Key == "patient").SelectMany(k => k.Resources).OfType<Patient>().FirstOrDefault();
        if (missingRequired.Count > 0 || patient is null)
        {
            var issues = missingRequired.Select(k => $"prefetch key '{k.Template.Key}' ({k.Template.Category}): {k.Problem}").ToList();
            if (issues.Count == 0)
            {
                issues.Add("prefetch key 'patient' holds no Patient resource");
            }

            throw new RequiredDataUnavailableException(issues);
        }

        if (!string.IsNullOrEmpty(patient.Id) && !string.Equals(patient.Id, invocation.PatientId, StringComparison.Ordinal))
        {
            throw new CdsRiskException(ErrorCodes.PrefetchPatientMismatch, "prefetch.patient is a different Patient than context.patientId.",
                new Dictionary<string, string[]> { ["prefetch.patient"] = ["Patient.id differs from context.patientId."] });
        }

        var all = keys.Where(k => k.Template.Key != "patient").SelectMany(k => k.Resources).DistinctBy(Identity).ToList();
        var referenced = await ReferencedAsync(all, keys.SelectMany(k => k.Included), load, deadline.Token, cancellationToken);
        var unavailable = keys.Where(k => k.State == KeyState.Unavailable).ToList();
        return new PatientRecord
        {
            Patient = patient,
            Conditions = [.. all.OfType<Condition>()],
            Observations = [.. all.OfType<Observation>()],
            Allergies = [.. all.OfType<AllergyIntolerance>()],
            MedicationStatements = [.. all.OfType<MedicationStatement>()],
            MedicationRequests = [.. all.OfType<MedicationRequest>()],
            Procedures = [.. all.OfType<Procedure>()],
            ServiceRequests = [.. all.OfType<ServiceRequest>()],
            Appointments = [.. all.OfType<Appointment>()],
            ImagingStudies = [.. all.OfType<ImagingStudy>()],
            ResearchSubjects = [.. all.OfType<ResearchSubject>()],
            MedicationAdministrations = [.. all.OfType<MedicationAdministration>()],
            Medications = [.. referenced.Resources.OfType<Medication>()],
            ResearchStudies = [.. referenced.Resources.OfType<ResearchStudy>()],
            DraftOrders = draftOrders,
            SelectedOrders = invocation.Selections,
            UnavailableData = [.. unavailable.Select(k => k.Template.Category).Concat(referenced.Gaps.Select(g => g.Category)).Distinct(StringComparer.Ordinal)],
            FetchedData = [.. keys.Where(k => k.State == KeyState.Fetched).Select(k => k.Template.Category).Distinct(StringComparer.Ordinal)],
            DataGaps = [.. unavailable.Select(k => new DataGap(k.Template.Key, k.Template.Category, k.Problem ?? "not loaded")), .. referenced.Gaps],
            DroppedResources = [.. keys.SelectMany(k => k.Dropped)],
        };
    }

    /// <summary>
    /// Issue 13 item 7: every prefetch value is counted (a forward-only scan of its bytes, no objects built) before any is parsed,
    /// so an oversized prefetch is refused with 400 naming the key instead of being read into a huge FHIR object graph.
    /// </summary>
    private static void CheckPrefetchSize(IReadOnlyList<PrefetchTemplate> templates, IReadOnlyDictionary<string, JsonElement?>? prefetch, EntryBudget budget)
    {
        if (prefetch is null)
        {
            return;
        }

        var total = 0;
        (string Key, int Count) largest = (string.Empty, 0);
        foreach (var template in templates)
        {
            if (!prefetch.TryGetValue(template.Key, out var value) || value is not { ValueKind: JsonValueKind.Object } element)
            {
                continue;
            }

            var count = Math.Max(0, FhirJson.CountNestedResources(JsonMarshal.GetRawUtf8Value(element), budget.PerKey));
            if (count > budget.PerKey)
            {
                throw TooLarge("prefetch." + template.Key,
                    $"holds more than {budget.PerKey} resources, the most one prefetch key may hold (Fhir:MaxPrefetchEntriesPerKey).");
            }

            total += count;
            largest = count > largest.Count ? (template.Key, count) : largest;
        }

        if (!budget.TryTake(total))
        {
            throw TooLarge("prefetch",
                $"holds {total} resources in all (the largest key is '{largest.Key}' with {largest.Count}); at most {budget.Total} are accepted (Fhir:MaxEntriesTotal).");
        }
    }

    private static CdsRiskException TooLarge(string field, string message) =>
        new(ErrorCodes.PrefetchTooLarge, $"{field} {message}", new Dictionary<string, string[]> { [field] = [message] });

    private async Task<KeyData> LoadKeyWithinBudgetAsync(PrefetchTemplate template, LoadContext load, IReadOnlyDictionary<string, JsonElement?>? prefetch,
        CancellationToken deadline, CancellationToken requestAborted)
    {
        try
        {
            return await LoadKeyAsync(template, load, prefetch, deadline);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !requestAborted.IsCancellationRequested)
        {
            var problem = $"not loaded within Fhir:LoadTimeoutSeconds ({_options.LoadTimeoutSeconds} s)";
            logger.KeyIncomplete(load.Invocation.HookInstance, template.Key, problem);
            return new KeyData(template, KeyState.Unavailable, [], problem);
        }
    }

    private async Task<KeyData> LoadKeyAsync(PrefetchTemplate template, LoadContext load, IReadOnlyDictionary<string, JsonElement?>? prefetch, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var invocation = load.Invocation;
        var query = PrefetchTokens.Resolve(template.Query, invocation);
        if (query is null)
        {
            // A token with no value in this call (e.g. no encounterId): the query does not apply.
            return new KeyData(template, KeyState.NotApplicable, [], "a prefetch token has no value in this call");
        }

        if (prefetch is not null && prefetch.TryGetValue(template.Key, out var value))
        {
            if (value is null || value.Value.ValueKind == JsonValueKind.Null)
            {
                return new KeyData(template, KeyState.NoData, [], "the client reports that no such data exists (null)");
            }

            if (!parsed.TryParse(value.Value, out var resource, out var error))
            {
                throw new CdsRiskException(ErrorCodes.MalformedPrefetch, $"prefetch.{template.Key} is not a valid FHIR R4 resource.",
                    new Dictionary<string, string[]> { ["prefetch." + template.Key] = [error] });
            }

            switch (resource)
            {
                case OperationOutcome:
                    // The client's own query failed (CDS Hooks 2.0 §Prefetch): fetch it ourselves.
                    logger.PrefetchOperationOutcome(invocation.HookInstance, template.Key);
                    break;
                case Bundle bundle when !BundleContent.HasNextLink(bundle):
                    return Keep(template, load, KeyState.Given, BundleContent.Resources(bundle), null, BundleContent.Included(bundle));
                case Bundle firstPage:
                    return await CompletePagesAsync(template, load, firstPage, cancellationToken);
                default:
                    return Keep(template, load, KeyState.Given, [resource!], null);
            }
        }

        if (!load.CanFetch)
        {
            return new KeyData(template, KeyState.Unavailable, [], load.FetchProblem);
        }

        // A key absent from prefetch is one the client did not fetch, or dropped because its query failed (the Sandbox does): fetch it.
        var fetch = template.FetchInclude is { } include ? query + "&_include=" + include : query;
        return await FetchAsync(template, load, new Uri(WithTrailingSlash(invocation.FhirServer!), fetch), [], [], continues: false, cancellationToken);
    }

    // A first page without the rest is not the whole record: unless the remaining pages can be read,
    // the category is marked unavailable, never treated as complete.
    private async Task<KeyData> CompletePagesAsync(PrefetchTemplate template, LoadContext load, Bundle firstPage, CancellationToken cancellationToken)
    {
        IReadOnlyList<Resource> given = [.. BundleContent.Resources(firstPage)];
        IReadOnlyList<Resource> givenIncluded = [.. BundleContent.Included(firstPage)];
        var next = load.CanFetch ? BundleContent.NextLink(firstPage, WithTrailingSlash(load.Invocation.FhirServer!)) : null;
        if (next is not null)
        {
            return await FetchAsync(template, load, next, given, givenIncluded, continues: true, cancellationToken);
        }

        var problem = load.CanFetch ? "prefetch Bundle has an unreadable next link" : "prefetch Bundle has more pages; " + load.FetchProblem;
        logger.KeyIncomplete(load.Invocation.HookInstance, template.Key, problem);
        return Keep(template, load, KeyState.Unavailable, given, problem, givenIncluded);
    }

    private async Task<KeyData> FetchAsync(PrefetchTemplate template, LoadContext load, Uri url, IReadOnlyList<Resource> alreadyHave, IReadOnlyList<Resource> alreadyIncluded,
        bool continues, CancellationToken cancellationToken)
    {
        var request = new FetchRequest(url, load.Invocation.Authorization?.AccessToken, _allowed, load.OwnServer!, template.ResourceType, alreadyHave.Count, load.Budget, continues,
            template.Included);
        var fetched = await fetcher.GetAsync(request, cancellationToken);
        if (fetched.IgnoredOtherTypes > 0)
        {
            logger.OtherTypesIgnored(load.Invocation.HookInstance, fetched.IgnoredOtherTypes, template.Key);
        }

        if (!fetched.Complete)
        {
            logger.FetchFailed(load.Invocation.HookInstance, template.Key, fetched.Problem!);
        }

        return Keep(template, load, fetched.Complete ? KeyState.Fetched : KeyState.Unavailable, [.. alreadyHave, .. fetched.Resources], fetched.Problem,
            [.. alreadyIncluded, .. fetched.Included]);
    }

    /// <summary>
    /// The key's resources that are this patient's data: of the type its query asks for (search results may carry
    /// <c>_include</c> leftovers: ignored) and naming this patient (issue 13 item 18: others are left out, logged by count and
    /// type, and listed on the record). Runs on every call, after the parse cache, so a cached parse never skips it.
    /// </summary>
    private KeyData Keep(PrefetchTemplate template, LoadContext load, KeyState state, IEnumerable<Resource> resources, string? problem,
        IEnumerable<Resource>? included = null)
    {
        var kept = new List<Resource>();
        var dropped = new List<DroppedResource>();
        var candidates = new List<Resource>(included ?? []);
        var otherTypes = 0;
        foreach (var resource in resources)
        {
            if (!string.Equals(resource.TypeName, template.ResourceType, StringComparison.Ordinal))
            {
                // A client's prefetch Bundle may carry the _include results without search.mode: they are candidates, not matches.
                if (template.Included.Contains(resource.TypeName, StringComparer.Ordinal))
                {
                    candidates.Add(resource);
                }
                else
                {
                    otherTypes++;
                }

                continue;
            }

            // The Patient key itself is checked against context.patientId by the caller (400 CDSR-1006).
            var match = resource is Patient ? PatientMatch.ThisPatient : PatientReferences.Match(resource, load.Invocation.PatientId, load.OwnServer);
            switch (match)
            {
                case PatientMatch.ThisPatient:
                    kept.Add(resource);
                    break;
                case PatientMatch.OtherPatient:
                    dropped.Add(new DroppedResource(template.Key, resource.TypeName, resource.Id, "refers to another patient"));
                    break;
                default:
                    dropped.Add(new DroppedResource(template.Key, resource.TypeName, resource.Id, "names no patient that can be checked"));
                    break;
            }
        }

        if (otherTypes > 0)
        {
            logger.OtherTypesIgnored(load.Invocation.HookInstance, otherTypes, template.Key);
        }

        foreach (var group in dropped.GroupBy(d => (d.ResourceType, d.Reason)))
        {
            logger.ResourcesDropped(load.Invocation.HookInstance, group.Count(), group.Key.ResourceType, template.Key, group.Key.Reason);
        }

        // An included resource is used only when a kept resource of this key refers to it (R4 §3.1.1.5.5: _include adds what the
        // matches reference; anything else in the Bundle is not this patient's).
        var wanted = kept.SelectMany(FhirReferences.Named).ToHashSet(StringComparer.Ordinal);
        List<Resource> keptIncluded = [.. candidates
            .Where(c => template.Included.Contains(c.TypeName, StringComparer.Ordinal) && !string.IsNullOrEmpty(c.Id) && wanted.Contains(c.TypeName + "/" + c.Id))
            .DistinctBy(Identity)];
        return new KeyData(template, state, kept, problem) { Dropped = dropped, Included = keptIncluded };
    }

    /// <summary>At most this many referenced resources (Medication, ResearchStudy) are read one by one for one call.</summary>
    private const int MaxReferenceReads = 20;

    /// <summary>
    /// The Medications and ResearchStudies the patient's resources refer to: those the searches included, and the others read one by
    /// one from the hook's server (<c>Medication/{id}</c>, <c>ResearchStudy/{id}</c>) within the call's entry budget and
    /// <see cref="MaxReferenceReads"/>; what could not be read is a data gap of its type. Contained ones (<c>#id</c>) are read from
    /// their container by the clinical code.
    /// </summary>
    private async Task<(IReadOnlyList<Resource> Resources, IReadOnlyList<DataGap> Gaps)> ReferencedAsync(IReadOnlyList<Resource> all, IEnumerable<Resource> included,
        LoadContext load, CancellationToken deadline, CancellationToken requestAborted)
    {
        var have = included.DistinctBy(Identity).ToList();
        var known = have.Select(Identity).ToHashSet(StringComparer.Ordinal);
        var missing = all.SelectMany(FhirReferences.Named).Distinct(StringComparer.Ordinal).Where(r => !known.Contains(r)).ToList();
        if (missing.Count == 0)
        {
            return (have, []);
        }

        var gaps = new List<DataGap>();
        if (!load.CanFetch)
        {
            gaps.AddRange(missing.GroupBy(r => r.Split('/')[0]).Select(g => new DataGap("referenced", g.Key, $"{g.Count()} referenced but not in prefetch; {load.FetchProblem}")));
            return (have, gaps);
        }

        var server = WithTrailingSlash(load.Invocation.FhirServer!);
        var reads = missing.Take(MaxReferenceReads).Select(async System.Threading.Tasks.Task<(string Reference, string Type, IReadOnlyList<Resource> Resources, string? Problem)> (reference) =>
        {
            var type = reference.Split('/')[0];
            try
            {
                var result = await fetcher.GetAsync(new FetchRequest(new Uri(server, reference), load.Invocation.Authorization?.AccessToken, _allowed, load.OwnServer!, type, 0, load.Budget),
                    deadline);
                return (reference, type, result.Resources, result.Problem);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !requestAborted.IsCancellationRequested)
            {
                return (reference, type, (IReadOnlyList<Resource>)[], $"not loaded within Fhir:LoadTimeoutSeconds ({_options.LoadTimeoutSeconds} s)");
            }
        });
        foreach (var read in await Task.WhenAll(reads))
        {
            if (read.Problem is null && read.Resources.FirstOrDefault(r => r.TypeName + "/" + r.Id == read.Reference) is { } resource)
            {
                have.Add(resource);
            }
            else
            {
                gaps.Add(new DataGap("referenced", read.Type, $"{read.Reference}: {read.Problem ?? "not found"}"));
            }
        }

        if (missing.Count > MaxReferenceReads)
        {
            gaps.Add(new DataGap("referenced", missing[MaxReferenceReads].Split('/')[0], $"more than {MaxReferenceReads} referenced resources; the rest are not read"));
        }

        return (have, gaps);
    }

    private string? FetchProblem(HookInvocation invocation, AllowedBaseUrl? ownServer)
    {
        if (invocation.FhirServer is null)
        {
            return "absent from prefetch and no fhirServer to fetch it from";
        }

        if (ownServer is null || !_allowed.Admits(WithTrailingSlash(invocation.FhirServer)))
        {
            return "absent from prefetch and fhirServer is not on Fhir:AllowedServers";
        }

        return null;
    }

    private static IReadOnlyList<Resource> ReadDraftOrders(HookInvocation invocation)
    {
        if (invocation.DraftOrders is not { ValueKind: JsonValueKind.Object } draftOrders)
        {
            return [];
        }

        if (!FhirJson.TryParse(draftOrders, out var resource, out var error) || resource is not Bundle bundle)
        {
            throw new CdsRiskException(ErrorCodes.MalformedDraftOrders, "context.draftOrders is not a valid FHIR R4 Bundle.",
                new Dictionary<string, string[]> { ["context.draftOrders"] = [resource is null ? error : "not a Bundle"] });
        }

        return [.. bundle.Entry.Where(e => e.Resource is not null).Select(e => e.Resource!)];
    }

    private static Uri WithTrailingSlash(Uri server) =>
        server.AbsoluteUri.EndsWith('/') ? server : new Uri(server.AbsoluteUri + "/", UriKind.Absolute);

    private static string Identity(Resource r) => string.IsNullOrEmpty(r.Id) ? Guid.NewGuid().ToString() : r.TypeName + "/" + r.Id;
}
