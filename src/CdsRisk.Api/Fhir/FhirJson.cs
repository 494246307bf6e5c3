using System.Runtime.InteropServices;
using System.Text.Json;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace CdsRisk.Api.Fhir;

/// <summary>Reads FHIR R4 JSON into Firely POCOs. Tolerant of what real servers add (unknown elements, newer codes), strict about structure.</summary>
public static class FhirJson
{
    private static readonly FhirJsonDeserializer Deserializer =
        new(new DeserializerSettings().UsingMode(DeserializationMode.BackwardsCompatible));

    private const int MaxReportedErrors = 3;

    public static bool TryParse(JsonElement element, out Resource? resource, out string error) =>
        TryParse(JsonMarshal.GetRawUtf8Value(element), out resource, out error);

    public static bool TryParse(ReadOnlySpan<byte> utf8Json, out Resource? resource, out string error)
    {
        resource = null;
        error = string.Empty;
        try
        {
            var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = 128 });
            if (Deserializer.TryDeserializeResource(ref reader, out var parsed, out var issues) && parsed is not null)
            {
                resource = parsed;
                return true;
            }

            var messages = (issues ?? []).Take(MaxReportedErrors).Select(e => e.Message).ToList();
            error = messages.Count > 0 ? string.Join(" | ", messages) : "not a FHIR resource";
            return false;
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or ArgumentException or NotSupportedException)
        {
            error = "not valid FHIR JSON (" + e.GetType().Name + ")";
            return false;
        }
    }
}
