using Microsoft.Extensions.Options;

namespace CdsRisk.Api.App;

/// <summary>The SMART on FHIR app (section <c>SmartApp</c>): one entry per EHR that may launch it.</summary>
public sealed class SmartAppOptions
{
    public const string Section = "SmartApp";

    /// <summary>The EHRs allowed to launch the app; a launch whose <c>iss</c> is not one of their <see cref="SmartEhrOptions.Issuer"/>s is refused.</summary>
    public List<SmartEhrOptions> Ehrs { get; set; } = [];

    /// <summary>CSP <c>frame-ancestors</c> sources for EHRs that embed the app (default <c>'none'</c>: the app is never framed).</summary>
    public List<string> FrameAncestors { get; set; } = [];

    /// <summary>Folder for the Data Protection keys that encrypt the session cookie; share it between replicas.</summary>
    public string? KeysDirectory { get; set; }

    /// <summary>Cookie SameSite: <c>Lax</c> (default) or <c>None</c> for an app embedded in an EHR frame (then HTTPS only).</summary>
    public string SameSite { get; set; } = "Lax";

    /// <summary>Seconds a launch may take from the redirect to the authorization server to the callback.</summary>
    public int LaunchSeconds { get; set; } = 600;
}

/// <summary>One EHR (authorization server + FHIR server) and this app's registration with it.</summary>
public sealed class SmartEhrOptions
{
    /// <summary>The FHIR base URL the EHR sends as <c>iss</c>.</summary>
    public string Issuer { get; set; } = "";
    public string ClientId { get; set; } = "";
    /// <summary>Confidential client secret (client_secret_basic, SMART App Launch 2.0 §"Confidential symmetric").</summary>
    public string ClientSecret { get; set; } = "";
    public string EhrLaunchScope { get; set; } = "launch openid fhirUser patient/Patient.rs patient/RiskAssessment.rs";
    public string StandaloneScope { get; set; } = "openid fhirUser user/ResearchSubject.rs";
    /// <summary>Roles (introspection <c>roles</c>) that open the screening log, CONSORT flow and monitoring: the trial team and auditors.</summary>
    public List<string> TrialTeamRoles { get; set; } = [];
}

internal sealed class SmartAppOptionsValidator : IValidateOptions<SmartAppOptions>
{
    public ValidateOptionsResult Validate(string? name, SmartAppOptions options)
    {
        var errors = new List<string>();
        for (var i = 0; i < options.Ehrs.Count; i++)
        {
            var e = options.Ehrs[i];
            if (!Uri.TryCreate(e.Issuer, UriKind.Absolute, out var iss) || iss.Scheme is not ("https" or "http"))
            {
                errors.Add($"SmartApp:Ehrs:{i}:Issuer must be an absolute http(s) URL.");
            }

            if (string.IsNullOrWhiteSpace(e.ClientId)) errors.Add($"SmartApp:Ehrs:{i}:ClientId is required.");
            if (string.IsNullOrWhiteSpace(e.ClientSecret)) errors.Add($"SmartApp:Ehrs:{i}:ClientSecret is required.");
        }

        if (options.SameSite is not ("Lax" or "None" or "Strict")) errors.Add("SmartApp:SameSite must be Lax, Strict or None.");
        if (options.LaunchSeconds is < 30 or > 3600) errors.Add("SmartApp:LaunchSeconds must be between 30 and 3600.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
