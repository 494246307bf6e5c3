using System.Net.Http.Headers;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;
using Polly.Timeout;

namespace CdsRisk.Api.Fhir;

/// <summary>The outcome of reading one prefetch query from a FHIR server.</summary>
public sealed record FetchResult(IReadOnlyList<Resource> Resources, bool Complete, string? Failure)
{
    public bool Succeeded => Failure is null;

    public static FetchResult Failed(string reason) => new([], false, reason);
}

/// <summary>
/// GETs FHIR JSON from the hook's <c>fhirServer</c> (typed client from the factory, one resilience pipeline, retries for GET only),
/// with the hook's bearer token, following Bundle <c>next</c> links. Every URL, next links included, must be on <c>Fhir:AllowedServers</c>.
/// </summary>
public sealed class FhirFetchClient(HttpClient http, IOptions<FhirOptions> options)
{
    public const string FhirJsonMediaType = "application/fhir+json";

    private readonly FhirOptions _options = options.Value;

    public async Task<FetchResult> GetAsync(Uri url, string? bearerToken, AllowedBaseUrls allowed, CancellationToken cancellationToken)
    {
        var resources = new List<Resource>();
        Uri? next = url;
        for (var page = 0; next is not null; page++)
        {
            if (page >= _options.MaxPages)
            {
                return new FetchResult(resources, Complete: false, Failure: null);
            }

            if (!allowed.Admits(next))
            {
                return page == 0 ? FetchResult.Failed("server not on Fhir:AllowedServers") : new FetchResult(resources, false, null);
            }

            var (resource, failure) = await GetOneAsync(next, bearerToken, cancellationToken);
            if (resource is null)
            {
                return page == 0 ? FetchResult.Failed(failure!) : new FetchResult(resources, false, null);
            }

            next = null;
            if (resource is Bundle bundle)
            {
                resources.AddRange(BundleContent.Resources(bundle));
                next = BundleContent.NextLink(bundle, url);
            }
            else if (resource is OperationOutcome)
            {
                return FetchResult.Failed("the server answered with an OperationOutcome");
            }
            else
            {
                resources.Add(resource);
            }
        }

        return new FetchResult(resources, Complete: true, Failure: null);
    }

    private async Task<(Resource? Resource, string? Failure)> GetOneAsync(Uri url, string? bearerToken, CancellationToken cancellationToken)
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
                return (null, $"HTTP {(int)response.StatusCode}");
            }

            if (response.Content.Headers.ContentLength > _options.MaxResponseBytes)
            {
                return (null, "response too large");
            }

            var body = await ReadLimitedAsync(response.Content, _options.MaxResponseBytes, cancellationToken);
            if (body is null)
            {
                return (null, "response too large");
            }

            return FhirJson.TryParse(body, out var resource, out var error) ? (resource, null) : (null, "response is not FHIR JSON: " + error);
        }
        catch (HttpRequestException e)
        {
            return (null, "connection failed (" + (e.HttpRequestError) + ")");
        }
        catch (TimeoutRejectedException)
        {
            return (null, "timed out");
        }
        catch (Polly.CircuitBreaker.BrokenCircuitException)
        {
            return (null, "circuit open after repeated failures");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, "timed out");
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

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}

/// <summary>What a searchset Bundle holds for us: its match/include resources, and where the next page is.</summary>
public static class BundleContent
{
    public static IEnumerable<Resource> Resources(Bundle bundle) =>
        bundle.Entry
            .Where(e => e.Resource is not null and not OperationOutcome && e.Search?.ModeElement?.JsonValue as string != "outcome")
            .Select(e => e.Resource!);

    public static Uri? NextLink(Bundle bundle, Uri relativeTo)
    {
        var next = bundle.Link.FirstOrDefault(l => string.Equals(l.Relation, "next", StringComparison.Ordinal))?.Url;
        return next is not null && Uri.TryCreate(relativeTo, next, out var uri) ? uri : null;
    }

    public static bool HasNextLink(Bundle bundle) => bundle.Link.Any(l => string.Equals(l.Relation, "next", StringComparison.Ordinal) && !string.IsNullOrEmpty(l.Url));
}
