using System.Collections;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace CdsRisk.Api.Hooks;

/// <summary>Marks a member written even when empty (CDS Hooks 2.0 §Use of JSON: the one exception is <c>"cards": []</c>).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class AlwaysWriteAttribute : Attribute;

/// <summary>A nested object that is omitted when none of its members has a value.</summary>
public interface IOmittable
{
    bool IsEmpty { get; }
}

/// <summary>JSON rules for the CDS Hooks wire: camelCase, exact member names, and optional members with no value omitted — never null, "", [] or {}.</summary>
public static class CdsHooksJson
{
    /// <summary>The converter for every enum this service puts on the wire or in its stored JSON (CDS Hooks values are kebab-case).</summary>
    public static JsonStringEnumConverter EnumConverter { get; } = new(Core.Eligibility.WireNames.Policy, allowIntegerValues: false);

    public static JsonSerializerOptions Options { get; } = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.PropertyNameCaseInsensitive = false;
        options.NumberHandling = JsonNumberHandling.Strict;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        // Every enum on the wire, one way: kebab-case of the member name (Core's WireNames.Policy), never a number.
        options.Converters.Add(EnumConverter);
        options.TypeInfoResolver = (options.TypeInfoResolver ?? new DefaultJsonTypeInfoResolver()).WithAddedModifier(OmitEmpty);
        return options;
    }

    private static void OmitEmpty(JsonTypeInfo info)
    {
        if (info.Kind != JsonTypeInfoKind.Object || info.Type.Assembly != typeof(CdsHooksJson).Assembly)
        {
            return;
        }

        foreach (var property in info.Properties)
        {
            if (property.AttributeProvider?.IsDefined(typeof(AlwaysWriteAttribute), inherit: false) == true)
            {
                continue;
            }

            property.ShouldSerialize = (_, value) => HasValue(value);
        }
    }

    internal static bool HasValue(object? value) => value switch
    {
        null => false,
        string s => s.Length > 0,
        JsonElement e => e.ValueKind switch
        {
            JsonValueKind.Undefined or JsonValueKind.Null => false,
            JsonValueKind.String => e.GetString()!.Length > 0,
            JsonValueKind.Array => e.GetArrayLength() > 0,
            JsonValueKind.Object => e.EnumerateObject().Any(),
            _ => true,
        },
        IOmittable o => !o.IsEmpty,
        ICollection c => c.Count > 0,
        IEnumerable e => e.GetEnumerator().MoveNext(),
        _ => true,
    };
}
