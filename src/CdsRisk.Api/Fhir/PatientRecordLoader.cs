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
/// with the hook's bearer token, only from allow-listed servers). Missing Patient that cannot be fetched → 412.
/// </summary>
public sealed class PatientRecordLoader(FhirFetchClient fetcher, PrefetchParseCache parsed, IOptions<FhirOptions> options, ILogger<PatientRecordLoader> logger)
{
    private readonly AllowedBaseUrls _allowed = AllowedBaseUrls.Parse(options.Value.AllowedServers);

    private enum KeyState
    {
        Given,
        Fetched,
        NoData,
        Unavailable,
        NotApplicable,
    }

    private sealed record KeyData(PrefetchTemplate Template, KeyState State, IReadOnlyList<Resource> Resources, string? Problem = null);

    public async Task<PatientRecord> LoadAsync(HookInvocation invocation, IReadOnlyList<PrefetchTemplate> templates, IReadOnlyDictionary<string, JsonElement?>? prefetch, CancellationToken cancellationToken)
    {
        var draftOrders = ReadDraftOrders(invocation);
        var canFetch = CanFetch(invocation, out var fetchProblem);

        var keys = await Task.WhenAll(templates.Select(t => LoadKeyAsync(t, invocation, prefetch, canFetch, fetchProblem, cancellationToken)));

        logger.PrefetchSummary(
            invocation.HookInstance,
            keys.Count(k => k.State == KeyState.Given),
            keys.Count(k => k.State == KeyState.Fetched),
            keys.Count(k => k.State == KeyState.Unavailable));
        if (!canFetch && invocation.FhirServer is not null && keys.Any(k => k.State == KeyState.Unavailable))
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
            DraftOrders = draftOrders,
            SelectedOrders = invocation.Selections,
            UnavailableData = [.. keys.Where(k => k.State == KeyState.Unavailable).Select(k => k.Template.Category).Distinct(StringComparer.Ordinal)],
            FetchedData = [.. keys.Where(k => k.State == KeyState.Fetched).Select(k => k.Template.Category).Distinct(StringComparer.Ordinal)],
        };
    }

    private async Task<KeyData> LoadKeyAsync(PrefetchTemplate template, HookInvocation invocation, IReadOnlyDictionary<string, JsonElement?>? prefetch,
        bool canFetch, string? fetchProblem, CancellationToken cancellationToken)
    {
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
                    logger.PrefetchOperationOutcome(invocation.HookInstance, template.Key);
                    break;
                case Bundle bundle when !BundleContent.HasNextLink(bundle):
                    return new KeyData(template, KeyState.Given, [.. BundleContent.Resources(bundle)]);
                case Bundle firstPage:
                    return await CompletePagesAsync(template, invocation, firstPage, canFetch, fetchProblem, cancellationToken);
                default:
                    return new KeyData(template, KeyState.Given, [resource!]);
            }
        }

        if (!canFetch)
        {
            return new KeyData(template, KeyState.Unavailable, [], fetchProblem);
        }

        return await FetchAsync(template, invocation, new Uri(WithTrailingSlash(invocation.FhirServer!), query), [], cancellationToken);
    }

    // A first page without the rest is not the whole record: unless the remaining pages can be read,
    // the category is marked unavailable, never treated as complete.
    private async Task<KeyData> CompletePagesAsync(PrefetchTemplate template, HookInvocation invocation, Bundle firstPage,
        bool canFetch, string? fetchProblem, CancellationToken cancellationToken)
    {
        IReadOnlyList<Resource> given = [.. BundleContent.Resources(firstPage)];
        if (!canFetch)
        {
            return new KeyData(template, KeyState.Unavailable, given, "prefetch Bundle has more pages; " + fetchProblem);
        }

        var next = BundleContent.NextLink(firstPage, WithTrailingSlash(invocation.FhirServer!));
        return next is null
            ? new KeyData(template, KeyState.Unavailable, given, "prefetch Bundle has an unreadable next link")
            : await FetchAsync(template, invocation, next, given, cancellationToken);
    }

    private async Task<KeyData> FetchAsync(PrefetchTemplate template, HookInvocation invocation, Uri url, IReadOnlyList<Resource> alreadyHave, CancellationToken cancellationToken)
    {
        var fetched = await fetcher.GetAsync(url, invocation.Authorization?.AccessToken, _allowed, cancellationToken);
        if (!fetched.Succeeded)
        {
            logger.FetchFailed(invocation.HookInstance, template.Key, fetched.Failure!);
            return new KeyData(template, KeyState.Unavailable, alreadyHave, "fetch failed: " + fetched.Failure);
        }

        return new KeyData(template, fetched.Complete ? KeyState.Fetched : KeyState.Unavailable, [.. alreadyHave, .. fetched.Resources],
            fetched.Complete ? null : "more pages than Fhir:MaxPages or a next link off Fhir:AllowedServers");
    }

    private bool CanFetch(HookInvocation invocation, out string? problem)
    {
        problem = null;
        if (invocation.FhirServer is null)
        {
            problem = "absent from prefetch and no fhirServer to fetch it from";
            return false;
        }

        if (!_allowed.Admits(WithTrailingSlash(invocation.FhirServer)))
        {
            problem = "absent from prefetch and fhirServer is not on Fhir:AllowedServers";
            return false;
        }

        return true;
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
