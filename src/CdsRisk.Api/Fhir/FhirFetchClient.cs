using System.Net;
using System.Net.Http.Headers;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;
using Polly.Timeout;

namespace CdsRisk.Api.Fhir;

/// <summary>One search or read to run against the hook's FHIR server.</summary>
/// <param name="Url">The first page (or the instance read).</param>
/// <param name="BearerToken">The hook's access token for its fhirServer, if any.</param>
/// <param name="Allowed">Fhir:AllowedServers.</param>
/// <param name="OwnServer">The hook's <c>fhirServer</c>: <c>next</c> links are followed only below it, so its token goes nowhere else.</param>
/// <param name="ResourceType">The type the query asks for; other resources in the answer (<c>_include</c> leftovers) are ignored. Null: any type.</param>
/// <param name="AlreadyHave">Resources this prefetch key already holds (a first page given in prefetch).</param>
/// <param name="Budget">What the hook's call may still load, and the per-key cap.</param>
/// <param name="Continues">The URL is a next link of a page already read (so it is not asked again without <c>_sort</c>).</param>
/// <param name="IncludedTypes">Types the query's <c>_include</c> asks for (e.g. <c>Medication</c>): their include entries are returned in <see cref="FetchResult.Included"/>.</param>
public sealed record FetchRequest(Uri Url, string? BearerToken, AllowedBaseUrls Allowed, AllowedBaseUrl OwnServer, string? ResourceType, int AlreadyHave, EntryBudget Budget,
    bool Continues = false, IReadOnlyCollection<string>? IncludedTypes = null);

/// <summary>The outcome of reading one prefetch query: what was read, and why it is not the whole answer when it is not.</summary>
public sealed record FetchResult(IReadOnlyList<Resource> Resources, string? Problem, int IgnoredOtherTypes = 0)
{
    public bool Complete => Problem is null;

    /// <summary><c>_include</c> entries of the request's <see cref="FetchRequest.IncludedTypes"/> (not yet checked against the matches).</summary>
    public IReadOnlyList<Resource> Included { get; init; } = [];
}

/// <summary>
/// What one hook call may still load (<c>Fhir:MaxEntriesTotal</c>), shared by all its keys, and the per-key cap
/// (<c>Fhir:MaxPrefetchEntriesPerKey</c>). Resources are counted before they are parsed.
/// </summary>
public sealed class EntryBudget(int perKey, int total)
{
    private int _left = total;

    public int PerKey { get; } = perKey;

    public int Total { get; } = total;

    public int Left => Volatile.Read(ref _left);

    public bool TryTake(int count)
    {
        while (true)
        {
            var left = Volatile.Read(ref _left);
            if (count > left)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _left, left - count, left) == left)
            {
                return true;
            }
        }
    }
}

/// <summary>
/// GETs FHIR JSON from the hook's <c>fhirServer</c> (typed client from the factory, one resilience pipeline per server authority,
/// retries for GET only), with the hook's bearer token, following Bundle <c>next</c> links. Every URL must be on
/// <c>Fhir:AllowedServers</c> and below the hook's own <c>fhirServer</c>. Servers as they are: a search refused because of
/// <c>_sort</c> is asked again without it (the clinical code orders by date itself), relative <c>next</c> links are resolved
/// against the page that carries them, <c>total</c> is never needed, and resources of other types are ignored.
/// </summary>
public sealed class FhirFetchClient(HttpClient http, IOptions<FhirOptions> options)
{
    public const string FhirJsonMediaType = "application/fhir+json";

    private readonly FhirOptions _options = options.Value;

    /// <summary>
    /// One read (or search) of any resource type outside a hook's prefetch (e.g. an ImagingStudy's Endpoint), with the default caps;
    /// next links are followed only below the URL's own folder.
    /// </summary>
    public Task<FetchResult> GetAsync(Uri url, string? bearerToken, AllowedBaseUrls allowed, CancellationToken cancellationToken)
    {
        var own = AllowedBaseUrl.For(new Uri(url, "."));
        if (own is null)
        {
            return System.Threading.Tasks.Task.FromResult(new FetchResult([], "not a plain http(s) URL"));
        }

        var budget = new EntryBudget(_options.MaxPrefetchEntriesPerKey, _options.MaxEntriesTotal);
        return GetAsync(new FetchRequest(url, bearerToken, allowed, own, ResourceType: null, AlreadyHave: 0, budget), cancellationToken);
    }

    public async Task<FetchResult> GetAsync(FetchRequest request, CancellationToken cancellationToken)
    {
        var resources = new List<Resource>();
        var included = new List<Resource>();
        var ignored = 0;
        var perKeyLeft = request.Budget.PerKey - request.AlreadyHave;
        Uri? next = request.Url;
        for (var page = 0; next is not null; page++)
        {
            if (page >= _options.MaxPages)
            {
                return new FetchResult(resources, $"more than Fhir:MaxPages ({_options.MaxPages}) pages", ignored);
            }

            if (!request.Allowed.Admits(next))
            {
                return new FetchResult(resources, page == 0 ? "server not on Fhir:AllowedServers" : "a next link leads off Fhir:AllowedServers (not followed)", ignored);
            }

            // CDS Hooks 2.0 §Passing the Access Token: the token is for fhirServer only, so a next link to any other base is not followed.
            if (!request.OwnServer.Admits(next))
            {
                return new FetchResult(resources, "a next link leads off the hook's fhirServer (not followed)", ignored);
            }

            var (body, failure, status) = await GetOneAsync(next, request.BearerToken, cancellationToken);
            if (body is null && page == 0 && !request.Continues && status is HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity && WithoutSortOrInclude(next) is { } unsorted)
            {
                // Some servers refuse _sort (or one of its keys) or _include with 400: ask again without them (the clinical code orders
                // by date itself; the loader reads a referenced resource the search did not include).
                (body, failure, _) = await GetOneAsync(unsorted, request.BearerToken, cancellationToken);
                next = unsorted;
            }

            if (body is null)
            {
                return new FetchResult(resources, (page == 0 ? "fetch failed: " : "a later page failed: ") + failure, ignored);
            }

            // Count before parsing: a page with more resources than this key or this call may still take is not read at all.
            var limit = Math.Min(perKeyLeft, request.Budget.Left);
            var count = FhirJson.CountNestedResources(body, limit);
            if (count < 0)
            {
                return new FetchResult(resources, "the server's answer is not valid JSON", ignored);
            }

            if (count > perKeyLeft)
            {
                return new FetchResult(resources, $"more than Fhir:MaxPrefetchEntriesPerKey ({request.Budget.PerKey}) resources", ignored);
            }

            if (!request.Budget.TryTake(count))
            {
                return new FetchResult(resources, $"the call's data exceeds Fhir:MaxEntriesTotal ({request.Budget.Total}) resources", ignored);
            }

            perKeyLeft -= count;
            if (!FhirJson.TryParse(body, out var resource, out var error))
            {
                return new FetchResult(resources, "the server's answer is not FHIR JSON: " + error, ignored);
            }

            var current = next;
            next = null;
            switch (resource)
            {
                case Bundle bundle:
                    ignored += BundleContent.NotMatches(bundle);
                    if (request.IncludedTypes is { Count: > 0 } types)
                    {
                        var wanted = BundleContent.Included(bundle).Where(r => types.Contains(r.TypeName)).ToList();
                        included.AddRange(wanted);
                        ignored -= wanted.Count;
                    }

                    foreach (var r in BundleContent.Resources(bundle))
                    {
                        if (request.ResourceType is null || string.Equals(r.TypeName, request.ResourceType, StringComparison.Ordinal))
                        {
                            resources.Add(r);
                        }
                        else
                        {
                            ignored++;
                        }
                    }

                    next = BundleContent.NextLink(bundle, current);
                    if (next is null && BundleContent.HasNextLink(bundle))
                    {
                        return new FetchResult(resources, "a next link could not be read", ignored);
                    }

                    break;
                case OperationOutcome:
                    return new FetchResult(resources, "the server answered with an OperationOutcome", ignored);
                case not null when request.ResourceType is null || string.Equals(resource.TypeName, request.ResourceType, StringComparison.Ordinal):
                    resources.Add(resource);
                    break;
                default:
                    return new FetchResult(resources, $"the server answered a {resource?.TypeName}, not a {request.ResourceType}", ignored);
            }
        }

        return new FetchResult(resources, null, ignored) { Included = included };
    }

    /// <summary>The same URL without its <c>_sort</c> and <c>_include</c> parameters, or null when it has none.</summary>
    internal static Uri? WithoutSortOrInclude(Uri url)
    {
        var query = url.Query.TrimStart('?');
        if (query.Length == 0)
        {
            return null;
        }

        var parts = query.Split('&');
        var kept = parts.Where(p => !p.StartsWith("_sort=", StringComparison.Ordinal) && !p.StartsWith("_sort:", StringComparison.Ordinal)
            && !p.StartsWith("_include=", StringComparison.Ordinal) && !p.StartsWith("_include:", StringComparison.Ordinal)).ToArray();
        if (kept.Length == parts.Length)
        {
            return null;
        }

        return new UriBuilder(url) { Query = string.Join('&', kept) }.Uri;
    }

    private async Task<(byte[]? Body, string? Failure, HttpStatusCode? Status)> GetOneAsync(Uri url, string? bearerToken, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(FhirJsonMediaType));
        if (!string.IsNullOrEmpty(bearerToken))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
        }

        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return (null, $"HTTP {(int)response.StatusCode}", response.StatusCode);
            }

            if (response.Content.Headers.ContentLength > _options.MaxResponseBytes)
            {
                return (null, "response too large", response.StatusCode);
            }

            var body = await ReadLimitedAsync(response.Content, _options.MaxResponseBytes, cancellationToken);
            return body is null ? (null, "response too large", response.StatusCode) : (body, null, response.StatusCode);
        }
        catch (HttpRequestException e)
        {
            return (null, "connection failed (" + e.HttpRequestError + ")", null);
        }
        catch (TimeoutRejectedException)
        {
            return (null, "timed out", null);
        }
        catch (Polly.CircuitBreaker.BrokenCircuitException)
        {
            return (null, "circuit open after repeated failures of this server", null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, "timed out", null);
        }
    }

    private static async Task<byte[]?> ReadLimitedAsync(HttpContent content, long limit, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                return null;
            }

            await buffer.WriteAsync(chunk.AsMemory(0, read), cancellationToken);
        }

        return buffer.ToArray();
    }
}

/// <summary>What a searchset Bundle holds for us: the resources that answer the query, and where the next page is.</summary>
public static class BundleContent
{
    /// <summary>
    /// The entries that answer the search: <c>search.mode</c> <c>match</c> or absent (prefetch Bundles often carry no search element).
    /// <c>include</c> entries are <c>_include</c> leftovers (R4 §3.1.1.5.5: not matches of the query) and <c>outcome</c> entries are messages.
    /// </summary>
    public static IEnumerable<Resource> Resources(Bundle bundle) =>
        bundle.Entry
            .Where(e => e.Resource is not null and not OperationOutcome && (e.Search?.ModeElement?.JsonValue as string) is null or "match")
            .Select(e => e.Resource!);

    /// <summary>The <c>search.mode</c> <c>include</c> entries: what <c>_include</c> added (kept only when a match refers to it).</summary>
    public static IEnumerable<Resource> Included(Bundle bundle) =>
        bundle.Entry
            .Where(e => e.Resource is not null && (e.Search?.ModeElement?.JsonValue as string) == "include")
            .Select(e => e.Resource!);

    /// <summary>Entries left out by <see cref="Resources"/> that carry a resource (for the log).</summary>
    public static int NotMatches(Bundle bundle) => bundle.Entry.Count(e => e.Resource is not null) - Resources(bundle).Count();

    /// <summary>The next page, a relative link resolved against the page that carries it (RFC 3986 §5.2); null when there is none or it cannot be read.</summary>
    public static Uri? NextLink(Bundle bundle, Uri page)
    {
        var next = bundle.Link.FirstOrDefault(l => string.Equals(l.Relation, "next", StringComparison.Ordinal))?.Url;
        return next is { Length: > 0 } && Uri.TryCreate(page, next, out var uri) && uri.IsAbsoluteUri ? uri : null;
    }

    public static bool HasNextLink(Bundle bundle) => bundle.Link.Any(l => string.Equals(l.Relation, "next", StringComparison.Ordinal) && !string.IsNullOrEmpty(l.Url));
}
