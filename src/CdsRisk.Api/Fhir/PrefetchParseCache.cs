using System.Security.Cryptography;
using System.Text.Json;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Caching.Memory;

namespace CdsRisk.Api.Fhir;

/// <summary>
/// Prefetch values already read, by the SHA-256 of their bytes: an EHR that opens the same chart again sends the same Bundles,
/// and strict FHIR parsing is the largest cost of a hook. Each hit is a deep copy, so no request ever shares a resource with another.
/// </summary>
public sealed class PrefetchParseCache : IDisposable
{
    private const long SizeLimitBytes = 64L * 1024 * 1024;
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = SizeLimitBytes });

    public bool TryParse(JsonElement element, out Resource? resource, out string error)
    {
        var bytes = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(element);
        var key = Convert.ToHexString(SHA256.HashData(bytes));
        if (_cache.TryGetValue(key, out Resource? cached) && cached is not null)
        {
            resource = (Resource)cached.DeepCopy();
            error = string.Empty;
            return true;
        }

        if (!FhirJson.TryParse(bytes, out resource, out error))
        {
            return false;
        }

        _cache.Set(key, (Resource)resource!.DeepCopy(), new MemoryCacheEntryOptions
        {
            Size = Math.Max(1, bytes.Length) * 4L, // the POCOs take a few times the JSON's size
            SlidingExpiration = TimeSpan.FromMinutes(10),
        });
        return true;
    }

    public void Dispose() => _cache.Dispose();
}
