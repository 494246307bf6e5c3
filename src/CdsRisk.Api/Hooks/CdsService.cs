namespace CdsRisk.Api.Hooks;

/// <summary>CDS Hooks 2.0 §Discovery response.</summary>
public sealed record CdsServiceDiscovery
{
    [AlwaysWrite]
    public required IReadOnlyList<CdsService> Services { get; init; }
}

/// <summary>One CDS Service as listed by discovery.</summary>
public sealed record CdsService
{
    public required string Hook { get; init; }
    public string? Title { get; init; }
    public required string Description { get; init; }
    public required string Id { get; init; }

    /// <summary>Prefetch key → FHIR query template.</summary>
    public IReadOnlyDictionary<string, string>? Prefetch { get; init; }
    public string? UsageRequirements { get; init; }
}
