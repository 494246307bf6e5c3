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

    /// <summary>
    /// Longest time an active introspection answer is reused for the same token (never past the token's <c>exp</c>; 0: ask the EHR
    /// on every page). A token the EHR revokes is refused at the latest this many seconds later; an inactive answer is never reused.
    /// </summary>
    public int IntrospectionCacheSeconds { get; set; } = 60;
}

/// <summary>One EHR (authorization server + FHIR server) and this app's registration with it.</summary>
public sealed class SmartEhrOptions
{
    /// <summary>The FHIR base URL the EHR sends as <c>iss</c>.</summary>
    public string Issuer { get; set; } = "";
    public string ClientId { get; set; } = "";
    /// <summary>Confidential client secret (client_secret_basic, SMART App Launch 2.0 §"Confidential symmetric"); or a private key below.</summary>
    public string ClientSecret { get; set; } = "";
    /// <summary>
    /// PEM of the RSA or EC private key registered with the EHR (or <see cref="PrivateKeyFile"/>): the app authenticates with a signed
    /// client assertion (private_key_jwt, SMART App Launch 2.0 §"Confidential asymmetric", RFC 7523) instead of the secret.
    /// </summary>
    public string? PrivateKeyPem { get; set; }
    public string? PrivateKeyFile { get; set; }
    /// <summary>Key id published in the app's JWKS at the EHR.</summary>
    public string? KeyId { get; set; }
    /// <summary>RS384 or ES384 (the algorithms SMART App Launch 2.0 names for asymmetric client authentication).</summary>
    public string Algorithm { get; set; } = "RS384";

    internal bool UsesPrivateKey => !string.IsNullOrEmpty(PrivateKeyPem) || !string.IsNullOrEmpty(PrivateKeyFile);
    /// <summary>patient/ImagingStudy.rs: the detail view checks that the study it shows is the patient's before it reads the PACS.</summary>
    public string EhrLaunchScope { get; set; } = "launch openid fhirUser patient/Patient.rs patient/RiskAssessment.rs patient/ImagingStudy.rs";
    public string StandaloneScope { get; set; } = "openid fhirUser user/ResearchSubject.rs user/ImagingStudy.rs";
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
            if (string.IsNullOrWhiteSpace(e.ClientSecret) && !e.UsesPrivateKey)
            {
                errors.Add($"SmartApp:Ehrs:{i}: a ClientSecret or a PrivateKeyPem/PrivateKeyFile is required (the app is a confidential client).");
            }

            if (e.UsesPrivateKey && e.Algorithm is not ("RS384" or "ES384")) errors.Add($"SmartApp:Ehrs:{i}:Algorithm must be RS384 or ES384.");
        }

        if (options.SameSite is not ("Lax" or "None" or "Strict")) errors.Add("SmartApp:SameSite must be Lax, Strict or None.");
        if (options.LaunchSeconds is < 30 or > 3600) errors.Add("SmartApp:LaunchSeconds must be between 30 and 3600.");
        if (options.IntrospectionCacheSeconds is < 0 or > 300) errors.Add("SmartApp:IntrospectionCacheSeconds must be between 0 and 300.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
