using System.Security.Claims;
using CdsRisk.Api.Auth;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.App;

/// <summary>Names of the app's scheme, policies and claims.</summary>
public static class AppSchemes
{
    /// <summary>The session cookie set after a SMART launch; the only way into <c>/app</c>.</summary>
    public const string Cookie = "SmartApp";
    /// <summary>Anyone launched by an allowed EHR with a checked token (what each page may show is decided by the patient claim).</summary>
    public const string LaunchedPolicy = "SmartAppLaunched";
    /// <summary>The trial team and auditors: a role the EHR grants (<c>SmartApp:Ehrs:n:TrialTeamRoles</c>).</summary>
    public const string TrialTeamPolicy = "SmartAppTrialTeam";
    public const string TrialTeamRole = "trial-team";
    public const string PatientClaim = "smart_patient";
    public const string IssuerClaim = "smart_iss";
    public const string FhirUserClaim = "fhirUser";
    public const string AccessTokenName = "access_token";
    public const string IntrospectionName = "introspection_endpoint";
    public const string TokenEndpointName = "token_endpoint";
}

public static class SmartAppServiceCollectionExtensions
{
    public static IServiceCollection AddSmartApp(this IServiceCollection services)
    {
        services.AddOptions<SmartAppOptions>().BindConfiguration(SmartAppOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SmartAppOptions>, SmartAppOptionsValidator>();
        services.AddSingleton<SmartClient>();
        services.AddSingleton<IntrospectionCache>();
        services.AddSingleton<AppModelCard>();
        services.AddHttpClient(SmartClient.HttpClientName, http =>
            {
                http.Timeout = Timeout.InfiniteTimeSpan;
                http.MaxResponseContentBufferSize = SmartClient.MaxDocumentBytes;
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false })
            .RemoveAllLoggers() // URLs of the token endpoint and FHIR reads carry no token, but the app logs nothing of them either
            .AddStandardResilienceHandler()
            .Configure((HttpStandardResilienceOptions r, IServiceProvider _) =>
            {
                r.Retry.ShouldHandle = _ => ValueTask.FromResult(false); // a code is good once: the token call is never repeated
                r.AttemptTimeout.Timeout = TimeSpan.FromSeconds(10);
                r.TotalRequestTimeout.Timeout = TimeSpan.FromSeconds(25);
                r.CircuitBreaker.SamplingDuration = TimeSpan.FromSeconds(30);
            })
            .SelectPipelineByAuthority();

        // Session and launch state are encrypted with ASP.NET Core Data Protection; replicas must share the key ring.
        var dataProtection = services.AddDataProtection().SetApplicationName("CdsRisk.App");
        services.AddOptions<Microsoft.AspNetCore.DataProtection.KeyManagement.KeyManagementOptions>().Configure<IOptions<SmartAppOptions>>((k, o) =>
        {
            if (!string.IsNullOrEmpty(o.Value.KeysDirectory))
            {
                k.XmlRepository = new Microsoft.AspNetCore.DataProtection.Repositories.FileSystemXmlRepository(
                    new DirectoryInfo(o.Value.KeysDirectory), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
            }
        });
        _ = dataProtection;

        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "cdsrisk.app.csrf";
            o.Cookie.Path = "/app";
            o.FormFieldName = "__csrf";
        });
        services.AddRazorComponents();

        services.AddAuthentication().AddCookie(AppSchemes.Cookie, o =>
        {
            o.Cookie.Name = "cdsrisk.app";
            o.Cookie.Path = "/app";
            o.Cookie.HttpOnly = true;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.SlidingExpiration = false;
            o.Events = new CookieAuthenticationEvents
            {
                // No redirect to a login page: the app is launched by an EHR, and only the EHR knows the iss to launch from.
                OnRedirectToLogin = c => AppPages.WriteStatusAsync(c.HttpContext, StatusCodes.Status401Unauthorized,
                    "Session ended", "Your session has ended or was never started. Launch the app again from the EHR."),
                OnRedirectToAccessDenied = c => AppPages.WriteStatusAsync(c.HttpContext, StatusCodes.Status403Forbidden,
                    "Not permitted", "Your role in the EHR does not give access to this page."),
                OnValidatePrincipal = ValidateSessionAsync,
            };
        });
        services.AddOptions<CookieAuthenticationOptions>(AppSchemes.Cookie).Configure<IOptions<SmartAppOptions>>((c, o) =>
            c.Cookie.SameSite = Enum.Parse<SameSiteMode>(o.Value.SameSite));

        services.AddAuthorizationBuilder()
            .AddPolicy(AppSchemes.LaunchedPolicy, p => p.AddAuthenticationSchemes(AppSchemes.Cookie).RequireAuthenticatedUser().RequireClaim(AppSchemes.IssuerClaim))
            .AddPolicy(AppSchemes.TrialTeamPolicy, p => p.AddAuthenticationSchemes(AppSchemes.Cookie).RequireAuthenticatedUser()
                .RequireClaim(AppSchemes.IssuerClaim).RequireRole(AppSchemes.TrialTeamRole));
        return services;
    }

    /// <summary>
    /// Every request re-checks the launch's token with the EHR (introspection, RFC 7662), reusing an active answer for at most
    /// SmartApp:IntrospectionCacheSeconds and never past the token's exp: a token that has expired ends the session at once, one the
    /// EHR revokes within that many seconds, and the user is asked to launch again.
    /// </summary>
    private static async Task ValidateSessionAsync(CookieValidatePrincipalContext context)
    {
        var smart = context.HttpContext.RequestServices.GetRequiredService<SmartClient>();
        var ehr = smart.FindEhr(context.Principal?.FindFirstValue(AppSchemes.IssuerClaim));
        var token = context.Properties.GetTokenValue(AppSchemes.AccessTokenName);
        var endpoint = context.Properties.GetTokenValue(AppSchemes.IntrospectionName);
        var tokenEndpoint = context.Properties.GetTokenValue(AppSchemes.TokenEndpointName);
        var ok = ehr is not null && token is not null && Uri.TryCreate(endpoint, UriKind.Absolute, out _) && Uri.TryCreate(tokenEndpoint, UriKind.Absolute, out _);
        if (ok)
        {
            try
            {
                var cache = context.HttpContext.RequestServices.GetRequiredService<IntrospectionCache>();
                var check = await cache.GetAsync(ehr!.Issuer, token!, c => smart.IntrospectAsync(ehr, new Uri(endpoint!), new Uri(tokenEndpoint!), token!, c),
                    context.HttpContext.RequestAborted);
                ok = check.Active && check.ClientId == ehr!.ClientId
                    && string.Equals(check.Patient, context.Principal!.FindFirstValue(AppSchemes.PatientClaim), StringComparison.Ordinal);
            }
            catch (SmartException)
            {
                ok = false;
            }
        }

        if (ok)
        {
            context.HttpContext.Items[AccessTokenItem] = token; // for this request's FHIR reads; never rendered or logged
        }
        else
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(AppSchemes.Cookie);
        }
    }

    /// <summary>Security headers on every app answer, and antiforgery for its forms.</summary>
    public static WebApplication UseSmartApp(this WebApplication app)
    {
        app.UseWhen(c => c.Request.Path.StartsWithSegments("/app", StringComparison.OrdinalIgnoreCase), branch => branch.Use(async (context, next) =>
        {
            var frames = app.Services.GetRequiredService<IOptions<SmartAppOptions>>().Value.FrameAncestors;
            var headers = context.Response.Headers;
            // No inline script or style anywhere: every style comes from /app/app.css, pictures are inline SVG elements.
            headers.ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
                + "frame-ancestors " + (frames.Count == 0 ? "'none'" : string.Join(' ', frames));
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers.CacheControl = "no-store";
            if (frames.Count == 0) headers.XFrameOptions = "DENY";
            await next();
        }));
        app.UseAntiforgery();
        return app;
    }

    public static IEndpointRouteBuilder MapSmartApp(this IEndpointRouteBuilder app)
    {
        var open = app.MapGroup("/app").ExcludeFromDescription().AllowAnonymous();
        open.MapGet("/launch", SmartLaunchEndpoints.EhrLaunchAsync).WithName("SmartAppLaunch");
        open.MapGet("/login", SmartLaunchEndpoints.StandaloneLaunchAsync).WithName("SmartAppStandaloneLaunch");
        open.MapGet("/callback", SmartLaunchEndpoints.CallbackAsync).WithName("SmartAppCallback");
        open.MapGet("/app.css", () => Results.Text(AppPages.Css, "text/css; charset=utf-8")).WithName("SmartAppStyles");

        var launched = app.MapGroup("/app").ExcludeFromDescription().RequireAuthorization(AppSchemes.LaunchedPolicy);
        launched.MapGet("/", AppEndpoints.HomeAsync).WithName("SmartAppHome");
        launched.MapGet("/assessments/{id}", AppEndpoints.DetailAsync).WithName("SmartAppAssessment");
        launched.MapGet("/assessments/{id}/phases/{phase}.png", AppEndpoints.PhaseImageAsync).WithName("SmartAppPhaseImage");
        launched.MapGet("/model-card", AppEndpoints.ModelCardAsync).WithName("SmartAppModelCard");
        launched.MapPost("/logout", AppEndpoints.LogoutAsync).WithName("SmartAppLogout").DisableAntiforgery();

        var team = app.MapGroup("/app").ExcludeFromDescription().RequireAuthorization(AppSchemes.TrialTeamPolicy);
        team.MapGet("/screening-log", AppEndpoints.ScreeningLogAsync).WithName("SmartAppScreeningLog");
        team.MapGet("/screening-log.csv", AppEndpoints.ScreeningLogCsvAsync).WithName("SmartAppScreeningLogCsv");
        team.MapGet("/screening-flow", AppEndpoints.ScreeningFlowAsync).WithName("SmartAppScreeningFlow");
        team.MapGet("/monitoring", AppEndpoints.MonitoringAsync).WithName("SmartAppMonitoring");
        return app;
    }

    /// <summary>The session's identity; the user is the checked id_token's fhirUser when there is one, else the introspection's.</summary>
    internal static ClaimsPrincipal Principal(SmartEhrOptions ehr, SmartToken token, SmartIntrospection check, string? idTokenFhirUser = null)
    {
        var identity = new ClaimsIdentity(AppSchemes.Cookie, ClaimTypes.Name, ClaimTypes.Role);
        identity.AddClaim(new Claim(AppSchemes.IssuerClaim, ehr.Issuer.TrimEnd('/')));
        if (token.Patient is not null) identity.AddClaim(new Claim(AppSchemes.PatientClaim, token.Patient));
        if ((idTokenFhirUser ?? check.FhirUser) is { } user)
        {
            identity.AddClaim(new Claim(AppSchemes.FhirUserClaim, user));
            identity.AddClaim(new Claim(ClaimTypes.Name, user));
        }

        if (check.Roles.Any(r => ehr.TrialTeamRoles.Contains(r, StringComparer.Ordinal)))
        {
            identity.AddClaim(new Claim(ClaimTypes.Role, AppSchemes.TrialTeamRole));
        }

        return new ClaimsPrincipal(identity);
    }

    internal static bool HasRole(this ClaimsPrincipal user) => user.IsInRole(AppSchemes.TrialTeamRole);

    internal static string? Patient(this ClaimsPrincipal user) => user.FindFirstValue(AppSchemes.PatientClaim);

    internal static string Issuer(this ClaimsPrincipal user) => user.FindFirstValue(AppSchemes.IssuerClaim)!;

    private const string AccessTokenItem = "CdsRisk.App.AccessToken";

    internal static string? AccessToken(this HttpContext http) => http.Items[AccessTokenItem] as string;

}
