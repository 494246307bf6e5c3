using System.Text.Json;
using System.Text.Json.Nodes;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Utility;

namespace CdsRisk.Api.Fhir;

/// <summary>Reads FHIR R4 JSON into Firely POCOs. Tolerant of shape slips that lose no data, strict about everything a reader could trip on.</summary>
public static class FhirJson
{
    private static readonly FhirJsonDeserializer Deserializer =
        new(new DeserializerSettings().UsingMode(DeserializationMode.Strict)); // report every issue; Repaired decides

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 128 };

    private const int MaxReportedErrors = 3;
    private const int MaxRepairs = 8;

    // Slips that real EHRs produce and that Firely repairs without loss (the HL7 order-select example itself has one object
    // where an array belongs): a single value for a repeating element, an unknown element, a superfluous resourceType.
    // A missing required element (PVAL102/105, e.g. NutritionOrder.intent in that example) is left to the reader to notice.
    // Empty arrays, empty objects and nulls are removed beforehand (they carry no data). Everything else is rejected: values that cannot be read as their type (dates, numbers, codes
    // outside a required value set), and structural errors (no or unknown resourceType, an array where one value belongs),
    // because Firely keeps those in a form whose typed properties throw when the clinical code reads them.
    private static readonly HashSet<string> Repaired = new(StringComparer.Ordinal) { "JSON111", "JSON113", "JSON118", "JSON119", "JSON122", "PVAL102", "PVAL105", "PVAL128" };

    /// <summary>
    /// How many FHIR resources a JSON value holds inside it (Bundle entries, contained and nested resources: every object with a
    /// <c>resourceType</c> below the top level), counted with a forward-only reader before anything is built, and stopping once
    /// past <paramref name="stopAbove"/>. -1 when the bytes are not valid JSON. This bounds what a later parse may allocate.
    /// </summary>
    public static int CountNestedResources(ReadOnlySpan<byte> utf8Json, int stopAbove)
    {
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = DocumentOptions.MaxDepth });
        var count = 0;
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth > 1 && reader.ValueTextEquals("resourceType"u8) && ++count > stopAbove)
                {
                    return count;
                }
            }
        }
        catch (JsonException)
        {
            return -1;
        }

        return count;
    }

    public static bool TryParse(JsonElement element, out Resource? resource, out string error) =>
        TryParse(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(element), out resource, out error);

    public static bool TryParse(ReadOnlySpan<byte> utf8Json, out Resource? resource, out string error)
    {
        resource = null;
        JsonNode? node;
        try
        {
            var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = DocumentOptions.MaxDepth });
            node = JsonNode.Parse(ref reader);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            error = "not valid JSON";
            return false;
        }

        return TryParseNode(node, out resource, out error);
    }

    private static bool TryParseNode(JsonNode? node, out Resource? resource, out string error)
    {
        resource = null;
        error = string.Empty;
        if (node is not JsonObject)
        {
            error = "not a JSON object";
            return false;
        }

        try
        {
            Prune(node);
            Resource? parsed;
            List<CodedException> problems;
            var attempts = 0;
            while (true)
            {
                var bytes = JsonSerializer.SerializeToUtf8Bytes(node);
                var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = DocumentOptions.MaxDepth });
                var ok = Deserializer.TryDeserializeResource(ref reader, out parsed, out var issues);
                problems = [.. (issues ?? []).Where(e => !Repaired.Contains(e.ErrorCode))];
                if (parsed is not null && (ok || problems.Count == 0))
                {
                    resource = parsed;
                    return true;
                }

                // One value where a repeating element belongs (the HL7 order-select example's doseAndRate): Firely keeps it in a
                // form its typed list property cannot return, so wrap it in an array at the reported location and read again.
                var singles = problems.Where(p => p.ErrorCode is "JSON111" or "PVAL127").ToList();
                if (singles.Count == 0 || singles.Count != problems.Count || ++attempts > MaxRepairs
                    || !singles.All(p => WrapSingleValue(node, p.Message)))
                {
                    break;
                }
            }

            var messages = problems.Take(MaxReportedErrors).Select(e => $"{e.ErrorCode}: {e.Message}").ToList();
            error = messages.Count > 0 ? string.Join(" | ", messages) : "not a FHIR resource";
            return false;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or ArgumentException or NotSupportedException or InvalidCastException)
        {
            error = "not valid FHIR JSON (" + e.GetType().Name + ")";
            return false;
        }
    }

    /// <summary>Wraps the non-array value at "At Type.a[0].b[1].c[0], line …" in an array; false when the path cannot be followed.</summary>
    private static bool WrapSingleValue(JsonNode root, string message)
    {
        var match = System.Text.RegularExpressions.Regex.Match(message, @"At ([A-Za-z0-9_\.\[\]]+), line");
        if (!match.Success)
        {
            return false;
        }

        var segments = match.Groups[1].Value.Split('.').Skip(1).ToArray();
        var current = root;
        var wrapped = false;
        foreach (var segment in segments)
        {
            var bracket = segment.IndexOf('[', StringComparison.Ordinal);
            var name = bracket < 0 ? segment : segment[..bracket];
            var index = bracket < 0 ? -1 : int.Parse(segment[(bracket + 1)..^1], System.Globalization.CultureInfo.InvariantCulture);
            if (current is not JsonObject parent || parent[name] is not { } child)
            {
                return false;
            }

            if (index >= 0 && child is not JsonArray)
            {
                if (index != 0)
                {
                    return false;
                }

                parent.Remove(name);
                parent[name] = new JsonArray(child);
                wrapped = true;
            }

            if (index < 0)
            {
                current = child;
                continue;
            }

            var items = (JsonArray)parent[name]!;
            if (index >= items.Count || items[index] is not { } item)
            {
                return false;
            }

            current = item;
        }

        return wrapped;
    }

    /// <summary>Removes members whose value is null, [] or {} (recursively): FHIR JSON forbids them and they carry no data.</summary>
    private static bool Prune(JsonNode? node)
    {
        switch (node)
        {
            case null:
                return true;
            case JsonObject o:
                foreach (var key in o.Select(p => p.Key).ToList())
                {
                    if (Prune(o[key]))
                    {
                        o.Remove(key);
                    }
                }

                return o.Count == 0;
            case JsonArray a:
                var allEmpty = true;
                foreach (var item in a)
                {
                    // Items stay (a null keeps primitive arrays and their _element twins aligned); only an array of nothing goes.
                    allEmpty &= Prune(item);
                }

                return a.Count == 0 || allEmpty;
            default:
                return false;
        }
    }
}
