using CdsRisk.Api.Auth;
using CdsRisk.Api.Hooks;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Audit;

/// <summary>Configuration section <c>Audit</c>: the clients allowed to read the audit API (same shape as <c>Auth:Clients</c>).</summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    public List<TrustedClientOptions> Clients { get; set; } = [];
}

internal sealed class AuditOptionsValidator : IValidateOptions<AuditOptions>
{
    public ValidateOptionsResult Validate(string? name, AuditOptions options)
    {
        var failures = new List<string>();
        TrustedClientOptions.ValidateAll(options.Clients, "Audit:Clients", failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Error kinds of the /api endpoints.</summary>
public static class ApiErrorCodes
{
    public static readonly ErrorCode UnknownAssessment = new("CDSR-2001", StatusCodes.Status404NotFound, "No assessment with this id");
    public static readonly ErrorCode UnknownJob = new("CDSR-2002", StatusCodes.Status404NotFound, "No scoring job with this id");
    public static readonly ErrorCode NoCredential = new("CDSR-2003", StatusCodes.Status400BadRequest, "No configured credential for this FHIR server");
    public static readonly ErrorCode NoImagingStudy = new("CDSR-2004", StatusCodes.Status422UnprocessableEntity, "The patient has no MR ImagingStudy to score");
    public static readonly ErrorCode OutsideClientBinding = new("CDSR-2005", StatusCodes.Status403Forbidden, "This scoring client may not use this FHIR server or credential");
}
