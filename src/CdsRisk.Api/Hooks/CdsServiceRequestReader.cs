using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Hooks;

/// <summary>
/// Reads a hook call's body. The prefetch values (most of the body) stay where they are: one JsonDocument over the whole body, and
/// each prefetch value is an element of it, instead of a copy per value. Context and fhirAuthorization are read by the same serializer
/// and options as any JSON body, and a body that does not read cleanly is read again the standard way, so errors name the same JSON
/// path as the standard binding would.
/// </summary>
public static class CdsServiceRequestReader
{
    public static async ValueTask<CdsServiceRequest?> ReadAsync(HttpContext context)
    {
        var request = context.Request;
        if (!request.HasJsonContentType())
        {
            throw new BadHttpRequestException("Expected a JSON request body.", StatusCodes.Status415UnsupportedMediaType);
        }

        // The body lives in a pooled buffer until the response is done: prefetch values are read in place and never kept beyond
        // the call (the loader turns them into FHIR resources).
#pragma warning disable CA2000 // disposed with the response (RegisterForDispose), after the answer is written
        var body = await PooledBody.ReadAsync(context);
#pragma warning restore CA2000
        context.Response.RegisterForDispose(body);
        if (body.Length == 0)
        {
            throw new BadHttpRequestException("The request body is empty.", StatusCodes.Status400BadRequest);
        }

        Utf8Body.EnsureValid(body.Memory.Span); // CDSR-1001 naming the member (issue 13 item 20)

        var options = context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var maxDepth = options.MaxDepth == 0 ? 64 : options.MaxDepth;

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.Memory, new JsonDocumentOptions { MaxDepth = maxDepth });
        }
        catch (JsonException)
        {
            return ReadStandard(body.Memory.Span, options);
        }

        body.Document = document;
        var root = document.RootElement;
        if (root.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            return ReadStandard(body.Memory.Span, options);
        }

        try
        {
            return FromDocument(root, options) ?? ReadStandard(body.Memory.Span, options);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string the document holds but cannot turn into .NET text (a lone surrogate escape).
            return ReadStandard(body.Memory.Span, options);
        }
    }

    // The members as the serializer would set them (exact camelCase names, unknown ones ignored, the last of a repeated name
    // kept), with prefetch values left in the document; null when a member has a kind the serializer would refuse.
    private static CdsServiceRequest? FromDocument(JsonElement root, JsonSerializerOptions options)
    {
        string? hook = null, hookInstance = null, fhirServer = null;
        FhirAuthorization? authorization = null;
        HookContext? context = null;
        Dictionary<string, JsonElement?>? prefetch = null;
        JsonElement? extension = null;
        foreach (var member in root.EnumerateObject())
        {
            var value = member.Value;
            switch (member.Name)
            {
                case "hook" when TryString(value, out var s):
                    hook = s;
                    break;
                case "hookInstance" when TryString(value, out var s):
                    hookInstance = s;
                    break;
                case "fhirServer" when TryString(value, out var s):
                    fhirServer = s;
                    break;
                case "fhirAuthorization":
                    authorization = value.Deserialize<FhirAuthorization>(options);
                    break;
                case "context":
                    context = value.Deserialize<HookContext>(options);
                    break;
                case "prefetch" when value.ValueKind == JsonValueKind.Null:
                    prefetch = null;
                    break;
                case "prefetch" when value.ValueKind == JsonValueKind.Object:
                    prefetch = new Dictionary<string, JsonElement?>(StringComparer.Ordinal);
                    foreach (var entry in value.EnumerateObject())
                    {
                        prefetch[entry.Name] = entry.Value.ValueKind == JsonValueKind.Null ? null : entry.Value; // as the dictionary reader does
                    }

                    break;
                case "extension":
                    extension = value.ValueKind == JsonValueKind.Null ? null : value;
                    break;
                case "hook" or "hookInstance" or "fhirServer" or "prefetch":
                    return null; // a kind the serializer refuses: let it say where
                default:
                    break; // unknown members are ignored (CDS Hooks 2.0 §Extensions)
            }
        }

        return new CdsServiceRequest
        {
            Hook = hook,
            HookInstance = hookInstance,
            FhirServer = fhirServer,
            FhirAuthorization = authorization,
            Context = context,
            Prefetch = prefetch,
            Extension = extension,
        };
    }

    private static bool TryString(JsonElement value, out string? text)
    {
        text = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        return value.ValueKind is JsonValueKind.String or JsonValueKind.Null;
    }

    // The standard reading, for bodies the fast path does not take: it either reads them or throws the JsonException that names the path.
    private static CdsServiceRequest? ReadStandard(ReadOnlySpan<byte> body, JsonSerializerOptions options)
    {
        try
        {
            return JsonSerializer.Deserialize<CdsServiceRequest>(body, options);
        }
        catch (JsonException ex)
        {
            throw new BadHttpRequestException("The request body is not valid JSON for a hook call.", StatusCodes.Status400BadRequest, ex);
        }
    }

    /// <summary>The body in a rented buffer; disposing returns it, after the document that reads it.</summary>
    private sealed class PooledBody : IDisposable
    {
        // Its own pool: with many hooks in flight the shared pool runs dry (each call holds its body until it has answered).
        // Bodies up to 256 KiB are pooled, at most 64 of a size kept; larger ones are allocated and left to the GC.
        private static readonly ArrayPool<byte> Pool = ArrayPool<byte>.Create(256 * 1024, 64);
        private byte[] _buffer;

        private PooledBody(byte[] buffer, int length) => (_buffer, Length) = (buffer, length);

        public int Length { get; }
        public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);
        public JsonDocument? Document { get; set; }

        public static async Task<PooledBody> ReadAsync(HttpContext context)
        {
            var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
            var declared = context.Request.ContentLength;
            if (declared > limit)
            {
                throw new BadHttpRequestException("The request body is too large.", StatusCodes.Status413PayloadTooLarge);
            }

            // Content-Length known: read exactly that. Chunked: grow as needed; Kestrel enforces the limit as it reads.
            var buffer = Pool.Rent(declared is { } d and > 0 and <= int.MaxValue ? (int)d : 16 * 1024);
            var length = 0;
            try
            {
                while (length != declared)
                {
                    if (length == buffer.Length)
                    {
                        var larger = Pool.Rent(checked(buffer.Length * 2));
                        buffer.AsSpan(0, length).CopyTo(larger);
                        Pool.Return(buffer);
                        buffer = larger;
                    }

                    var read = await context.Request.Body.ReadAsync(buffer.AsMemory(length), context.RequestAborted);
                    if (read == 0)
                    {
                        break;
                    }

                    length += read;
                }
            }
            catch
            {
                Pool.Return(buffer);
                throw;
            }

            return new PooledBody(buffer, length);
        }

        public void Dispose()
        {
            Document?.Dispose();
            Document = null;
            var buffer = Interlocked.Exchange(ref _buffer, []);
            if (buffer.Length > 0)
            {
                Pool.Return(buffer);
            }
        }
    }
}
