using Firely.Fhir.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;

namespace CdsRisk.UnitTests.Profiles;

/// <summary>
/// One Firely validator over the R4 core specification plus fhir-profiles/; snapshots of our differential-only
/// StructureDefinitions are generated on the fly by SnapshotSource. Built once per test run: compiling profiles is slow.
/// </summary>
public sealed class ProfileValidator
{
    public static string ProfilesDirectory { get; } = FindProfilesDirectory();

    public Validator Validator { get; }

    public IAsyncResourceResolver Resolver { get; }

    public ProfileValidator()
    {
        var core = ZipSource.CreateValidationSource();
        var ours = new DirectorySource(ProfilesDirectory, new DirectorySourceSettings { IncludeSubDirectories = false });
        Resolver = new CachedResolver(new SnapshotSource(new MultiResolver(ours, core)));
        Validator = new Validator(Resolver, new LocalTerminologyService(Resolver));
    }

    /// <summary>Validates against the profiles the resource claims in meta.profile (and its base); returns error and fatal issues only.</summary>
    public IReadOnlyList<OperationOutcome.IssueComponent> Errors(Resource resource, string? profile = null)
    {
        var outcome = Validator.Validate(resource, profile);
        return [.. outcome.Issue.Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal)];
    }

    public static string Describe(IEnumerable<OperationOutcome.IssueComponent> issues) =>
        string.Join("\n", issues.Select(i => $"{i.Severity} {i.Code} at {string.Join(",", i.Expression ?? [])}: {i.Details?.Text ?? i.Diagnostics}"));

    private static string FindProfilesDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "fhir-profiles");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("fhir-profiles/ not found above " + AppContext.BaseDirectory);
    }
}

[CollectionDefinition(Name)]
public sealed class ProfileValidatorCollection : ICollectionFixture<ProfileValidator>
{
    public const string Name = "FHIR profile validator";
}
