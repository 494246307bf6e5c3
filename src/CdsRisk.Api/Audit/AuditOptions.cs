using CdsRisk.Api.Auth;
using CdsRisk.Api.Diagnostics;
using CdsRisk.Api.Hooks;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Audit;

/// <summary>Configuration section <c>Audit</c>: the clients allowed to read the audit API (same shape as <c>Auth:Clients</c>).</summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    public List<TrustedClientOptions> Clients { get; set; } = [];
}

/// <summary>Error kinds of the /api endpoints.</summary>
public static class ApiErrorCodes
{
    public static readonly ErrorCode UnknownAssessment = new("CDSR-2001", StatusCodes.Status404NotFound, "No assessment with this id");
    public static readonly ErrorCode UnknownJob = new("CDSR-2002", StatusCodes.Status404NotFound, "No scoring job with this id");
    public static readonly ErrorCode NoCredential = new("CDSR-2003", StatusCodes.Status400BadRequest, "No configured credential for this FHIR server");
    public static readonly ErrorCode NoImagingStudy = new("CDSR-2004", StatusCodes.Status422UnprocessableEntity, "The patient has no MR ImagingStudy to score");
}

/// <summary>
/// JWT checks for the /api endpoints, with the same rules as the hooks (asymmetric algorithms, exact <c>aud</c>, <c>jti</c> once):
/// audit endpoints trust <c>Audit:Clients</c>, scoring jobs trust the CDS Clients of <c>Auth:Clients</c>.
/// </summary>
public sealed class ApiClientAuthentication(
    CdsClientTokenValidator cdsClients,
    JwksCache jwks,
    JtiReplayCache replay,
    TimeProvider time,
    IOptions<AuthOptions> auth,
    IOptions<AuditOptions> audit)
{
    private readonly CdsClientTokenValidator _auditClients = new(Options.Create(new AuthOptions
    {
        Mode = auth.Value.Mode,
        ClockSkewSeconds = auth.Value.ClockSkewSeconds,
        Clients = audit.Value.Clients,
    }), jwks, replay, time);

    public bool Disabled => auth.Value.Mode == AuthMode.Disabled;

    public Task<string?> ValidateAsync(HttpContext context, bool auditClient) =>
        (auditClient ? _auditClients : cdsClients).ValidateAsync(context.Request.Headers.Authorization,
            CdsClientAuthenticationMiddleware.CalledUrlOf(context, auth.Value.PublicBaseUrl), context.RequestAborted);
}

/// <summary>A bare 401 unless the caller's JWT is from a client trusted for this group of endpoints.</summary>
public sealed class RequireClientTokenFilter(bool auditClient) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var authentication = http.RequestServices.GetRequiredService<ApiClientAuthentication>();
        if (!authentication.Disabled && await authentication.ValidateAsync(http, auditClient) is { } reason)
        {
            http.RequestServices.GetRequiredService<ILogger<RequireClientTokenFilter>>().TokenRejected(http.Request.Path, reason);
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return TypedResults.Unauthorized();
        }

        return await next(context);
    }
}
