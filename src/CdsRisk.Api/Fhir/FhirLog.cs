namespace CdsRisk.Api.Fhir;

/// <summary>Log lines of FHIR loading. Counts, types, prefetch key names and reasons only: never an id, a URL or a token.</summary>
internal static partial class FhirLog
{
    [LoggerMessage(2151, LogLevel.Warning, "Hook instance {HookInstance}: {Count} {ResourceType} resource(s) in prefetch key {Key} left out: {Reason}")]
    public static partial void ResourcesDropped(this ILogger logger, Guid hookInstance, int count, string resourceType, string key, string reason);

    [LoggerMessage(2152, LogLevel.Information, "Hook instance {HookInstance}: {Count} resource(s) of other types in the answer for prefetch key {Key} ignored")]
    public static partial void OtherTypesIgnored(this ILogger logger, Guid hookInstance, int count, string key);

    [LoggerMessage(2153, LogLevel.Warning, "Hook instance {HookInstance}: prefetch key {Key} not loaded completely: {Reason}")]
    public static partial void KeyIncomplete(this ILogger logger, Guid hookInstance, string key, string reason);

    [LoggerMessage(2154, LogLevel.Information, "Hook instance {HookInstance}: loading stopped, the client closed the request")]
    public static partial void LoadAbandoned(this ILogger logger, Guid hookInstance);
}
